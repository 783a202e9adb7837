/* ukr_generic.c -- the portable micro-kernel: plain C that the compiler vectorizes
 * with whatever the baseline ISA offers (SSE2 on x86-64, NEON on aarch64). */
#include "gemm.h"

#define MR 6
#define NR 8

static void ukr_generic_6x8(int64_t k, const float *restrict a, const float *restrict b,
                            float *restrict c, int64_t ldc, float alpha, float beta) {
    float acc[MR][NR] = {{0}};
    for (int64_t p = 0; p < k; p++) {
        const float *ap = a + p * MR, *bp = b + p * NR;
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += ap[i] * bp[j];
    }
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < NR; j++) ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < NR; j++) ci[j] = beta * ci[j] + alpha * acc[i][j];
    }
}

static int always(void) { return 1; }

const fnn_gemm_kernel fnn_gemm_kernel_generic = {
    "generic", MR, NR, /*mc*/ 120, /*kc*/ 256, /*nc*/ 2048, ukr_generic_6x8, always,
};
