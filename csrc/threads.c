/* threads.c -- the thread count every kernel uses. */
#include "parallel.h"

static int g_num_threads = 0; /* 0 = not set yet: use OpenMP's default */

int fnn_has_openmp(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fnn_max_hardware_threads(void) {
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

int fnn_max_threads(void) {
    int procs = fnn_max_hardware_threads();
    return procs > 1024 ? procs : 1024;
}

static int clamp_threads(int n) {
    if (!fnn_has_openmp() || n < 1) return 1;
    return n > fnn_max_threads() ? fnn_max_threads() : n;
}

void fnn_set_num_threads(int n) { g_num_threads = clamp_threads(n); }

int fnn_get_num_threads(void) {
    if (g_num_threads <= 0) {
#ifdef _OPENMP
        g_num_threads = clamp_threads(omp_get_max_threads());
#else
        g_num_threads = 1;
#endif
    }
    return g_num_threads;
}

/* ---- starting threads safely ------------------------------------------------------
 * libgomp ends the process (status 1, no exception, no cleanup) when it cannot create a
 * thread for a parallel region (a memory limit, a thread limit, a huge thread count).
 * Its pool threads, once created, are reused by every later region of the same size
 * started from the same OS thread, so the check is needed only when the pool would grow:
 * fnn_threads_prepare() first creates the missing threads itself with pthreads (default
 * attributes, as libgomp without OMP_STACKSIZE), all alive at once; if any cannot be
 * created it returns the error and OpenMP is never asked.  Otherwise it lets libgomp build
 * its pool at once, in an empty region of the full team, and remembers the size.  The
 * Cython layer calls it before every kernel and turns a failure into an exception. */
#ifdef _OPENMP
#include <errno.h>
#include <pthread.h>

static _Thread_local int t_pool = 1; /* team size this OS thread's pool is known to hold */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int release;
} probe_gate;

static void *probe_wait(void *arg) {
    probe_gate *g = (probe_gate *)arg;
    pthread_mutex_lock(&g->lock);
    while (!g->release) pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* Create `extra` threads that all exist at once, then end them; 0 or the errno. */
static int probe_threads(int extra) {
    enum { BATCH = 64 };
    pthread_t ids[BATCH];
    probe_gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    /* more than BATCH: the first BATCH stay alive while the rest are probed recursively */
    int n = extra < BATCH ? extra : BATCH, made = 0, err = 0;
    for (; made < n; made++) {
        err = pthread_create(&ids[made], NULL, probe_wait, &gate);
        if (err) break;
    }
    if (!err && extra > BATCH) err = probe_threads(extra - BATCH);
    pthread_mutex_lock(&gate.lock);
    gate.release = 1;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
    for (int i = 0; i < made; i++) pthread_join(ids[i], NULL);
    return err;
}

int fnn_threads_prepare(void) {
    int n = fnn_get_num_threads();
    if (n == t_pool) return 0;
    if (n == 1) { /* serial regions never use the pool */
        t_pool = 1;
        return 0;
    }
    if (n > t_pool) {
        int err = probe_threads(n - 1);
        if (err) return err;
    }
#pragma omp parallel num_threads(n)
    {
        (void)0; /* libgomp builds (or trims) its pool for a team of n here */
    }
    t_pool = n;
    return 0;
}

void fnn_threads_forget(void) { t_pool = 0; /* unknown: check again next time */ }
#else
int fnn_threads_prepare(void) { return 0; }
void fnn_threads_forget(void) {}
#endif
