/* dropout.c -- inverted dropout with a counter-based RNG.
 * Element i draws 24 bits from a hash of (seed, i) (the SplitMix64 finalizer over a
 * Weyl-mixed key), so the mask needs no state, no storage and no thread coordination:
 * backward recomputes it, and any thread count gives the same mask.
 *   keep_i = bits(seed, i) >= floor(rate * 2^24)
 *   y_i = keep_i ? x_i / (1 - rate) : 0          dx_i = keep_i ? dy_i / (1 - rate) : 0 */
#include "parallel.h"

uint32_t fnn_dropout_bits(uint64_t seed, uint64_t i) {
    uint64_t z = seed * 0x9E3779B97F4A7C15ULL ^ (i + 1) * 0xD1B54A32D192ED03ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (uint32_t)(z >> 40);
}

static void apply_mask(float *out, const float *in, int64_t n, float rate, uint64_t seed) {
    const uint32_t threshold = (uint32_t)((double)rate * 16777216.0);
    const float scale = rate < 1.0f ? (float)(1.0 / (1.0 - (double)rate)) : 0.0f;
    int nt = fnn_threads_for(n * 4);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < n; i++)
        out[i] = fnn_dropout_bits(seed, (uint64_t)i) >= threshold ? in[i] * scale : 0.0f;
}

void fnn_dropout_forward(float *y, const float *x, int64_t n, float rate, uint64_t seed) {
    apply_mask(y, x, n, rate, seed);
}

void fnn_dropout_backward(float *dx, const float *dy, int64_t n, float rate, uint64_t seed) {
    apply_mask(dx, dy, n, rate, seed);
}
