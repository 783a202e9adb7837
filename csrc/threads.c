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
