/* peak.c -- the machine's measured fp32 FMA throughput, for reading GEMM figures as a
 * fraction of this CPU's limit.  Independent register-resident multiply-add chains
 * (more chains than FMA latency x ports), nothing loaded or stored in the loop. */
#include "gemm.h"
#include "../parallel.h"

#define CHAINS 12

typedef float v4 __attribute__((vector_size(16)));

static float peak_generic(int64_t iters) {
    v4 acc[CHAINS], m = {0.9999999f, 0.9999999f, 0.9999999f, 0.9999999f}, d = {1e-7f, 1e-7f, 1e-7f, 1e-7f};
    for (int j = 0; j < CHAINS; j++) acc[j] = (v4){1.0f + j, 1.0f, 1.0f, 1.0f};
    for (int64_t i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++) acc[j] = acc[j] * m + d;
    float s = 0;
    for (int j = 0; j < CHAINS; j++) s += acc[j][0];
    return s;
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
__attribute__((target("avx512f,fma"))) static float peak_avx512(int64_t iters) {
    __m512 acc[CHAINS], m = _mm512_set1_ps(0.9999999f), d = _mm512_set1_ps(1e-7f);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_set1_ps(1.0f + j);
    for (int64_t i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_fmadd_ps(acc[j], m, d);
    float s = 0;
    for (int j = 0; j < CHAINS; j++) s += _mm512_reduce_add_ps(acc[j]);
    return s;
}

__attribute__((target("avx2,fma"))) static float peak_avx2(int64_t iters) {
    __m256 acc[CHAINS], m = _mm256_set1_ps(0.9999999f), d = _mm256_set1_ps(1e-7f);
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm256_set1_ps(1.0f + j);
    for (int64_t i = 0; i < iters; i++)
#pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++) acc[j] = _mm256_fmadd_ps(acc[j], m, d);
    float s = 0, t[8];
    for (int j = 0; j < CHAINS; j++) {
        _mm256_storeu_ps(t, acc[j]);
        s += t[0];
    }
    return s;
}
#endif

/* Runs `iters` steps of CHAINS vector FMAs on each of `nthreads` threads with the
 * active ISA's widest vectors; returns the number of flops done (the caller times it). */
double fnn_gemm_peak_flops(int64_t iters, int nthreads) {
    const char *isa = fnn_gemm_isa();
    int lanes = 4;
    float (*fn)(int64_t) = peak_generic;
#if defined(__x86_64__) || defined(_M_X64)
    if (isa[0] == 'a' && isa[3] == '5') fn = peak_avx512, lanes = 16;
    else if (isa[0] == 'a') fn = peak_avx2, lanes = 8;
#endif
    volatile float sink = 0;
#pragma omp parallel num_threads(nthreads)
    {
        float s = fn(iters);
#pragma omp atomic
        sink += s;
    }
    (void)sink;
    return 2.0 * CHAINS * lanes * (double)iters * nthreads;
}
