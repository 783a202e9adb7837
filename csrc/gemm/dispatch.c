/* dispatch.c -- the one table of micro-kernels, best first, and the choice among them. */
#include <string.h>
#include "gemm.h"
#include "../fnn.h"

static const fnn_gemm_kernel *const table[] = {
#if defined(__x86_64__) || defined(_M_X64)
    &fnn_gemm_kernel_avx512,
    &fnn_gemm_kernel_avx2,
#endif
    &fnn_gemm_kernel_generic,
};
#define NKERNELS ((int)(sizeof table / sizeof table[0]))

static const fnn_gemm_kernel *active = 0;

const fnn_gemm_kernel *fnn_gemm_active(void) {
    if (!active) {
        for (int i = 0; i < NKERNELS && !active; i++)
            if (table[i]->cpu_supports()) active = table[i];
    }
    return active;
}

const char *fnn_gemm_isa(void) { return fnn_gemm_active()->name; }

int fnn_gemm_select_isa(const char *name) {
    for (int i = 0; i < NKERNELS; i++)
        if (strcmp(table[i]->name, name) == 0) {
            if (!table[i]->cpu_supports()) return -1;
            active = table[i];
            return 0;
        }
    return -1;
}

const char *fnn_gemm_isa_list(void) {
    /* every kernel this CPU can run, best first, space separated */
    static char buf[128];
    buf[0] = 0;
    for (int i = 0; i < NKERNELS; i++)
        if (table[i]->cpu_supports()) {
            if (buf[0]) strcat(buf, " ");
            strcat(buf, table[i]->name);
        }
    return buf;
}

void fnn_gemm_blocking(int *mr, int *nr, int64_t *mc, int64_t *kc, int64_t *nc) {
    const fnn_gemm_kernel *k = fnn_gemm_active();
    *mr = k->mr, *nr = k->nr, *mc = k->mc, *kc = k->kc, *nc = k->nc;
}
