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

void fnn_set_num_threads(int n) {
    if (!fnn_has_openmp()) n = 1;
    g_num_threads = n < 1 ? 1 : n;
}

int fnn_get_num_threads(void) {
    if (g_num_threads <= 0) {
#ifdef _OPENMP
        g_num_threads = omp_get_max_threads();
#else
        g_num_threads = 1;
#endif
    }
    return g_num_threads;
}
