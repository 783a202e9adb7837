/* dropout.c -- inverted dropout with a counter-based RNG.
 * Element i draws 24 bits from a hash of (seed, first + i), where `first` is the index of
 * element 0 in a larger tensor (a data-parallel rank's share of the global batch, so
 * every rank draws the mask one process would): two rounds of MurmurHash3's 32-bit
 * finalizer over i mixed with the two halves of the seed.  32-bit integer arithmetic
 * only, so the loop vectorizes; the mask needs no state, no storage and no thread
 * coordination: backward recomputes it, and any thread count gives the same mask.
 *   keep_i = bits(seed, first + i) >= floor(rate * 2^24)
 *   y_i = keep_i ? x_i / (1 - rate) : 0          dx_i = keep_i ? dy_i / (1 - rate) : 0 */
#include <string.h>
#include "parallel.h"

static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

static inline uint32_t dropout_bits(uint32_t key_lo, uint32_t key_hi, uint32_t i) {
    return fmix32(fmix32(i * 0x9E3779B1u ^ key_lo) ^ key_hi) >> 8;
}

uint32_t fnn_dropout_bits(uint64_t seed, uint64_t i) {
    return dropout_bits(fmix32((uint32_t)seed), fmix32((uint32_t)(seed >> 32) + 0x7F4A7C15u),
                        (uint32_t)i);
}

FNN_INLINE void mask_range(float *out, const float *in, int64_t lo, int64_t hi,
                                uint32_t threshold, uint32_t key_lo, uint32_t key_hi,
                                float scale, uint32_t first) {
    /* An explicit bit mask instead of a select: the compiler keeps a ?: on floats as a
     * branch here, mispredicted half the time; the mask vectorizes.  ivdep: out may be
     * in (in place), element by element. */
#pragma GCC ivdep
    for (int64_t i = lo; i < hi; i++) {
        float v = in[i] * scale;
        uint32_t bits, keep = 0u - (uint32_t)(dropout_bits(key_lo, key_hi, first + (uint32_t)i) >= threshold);
        memcpy(&bits, &v, sizeof bits);
        bits &= keep;
        memcpy(out + i, &bits, sizeof bits);
    }
}

/* mask_range per ISA: baseline x86-64 has no vector 32-bit multiply (SSE4.1's
 * pmulld), so the hash ran several times slower there than with AVX2 or AVX-512. */
FNN_ISA_VARIANTS(mask_range,
                 (float *out, const float *in, int64_t lo, int64_t hi, uint32_t threshold,
                  uint32_t key_lo, uint32_t key_hi, float scale, uint32_t first),
                 (out, in, lo, hi, threshold, key_lo, key_hi, scale, first))

static void apply_mask(float *out, const float *in, int64_t n, float rate, uint64_t seed,
                       int64_t first) {
    const uint32_t threshold = (uint32_t)((double)rate * 16777216.0);
    const uint32_t key_lo = fmix32((uint32_t)seed), key_hi = fmix32((uint32_t)(seed >> 32) + 0x7F4A7C15u);
    const float scale = rate < 1.0f ? (float)(1.0 / (1.0 - (double)rate)) : 0.0f;
    const int isa = fnn_vector_isa();
    FNN_RUN_SPLIT(n, 4, FNN_ISA_CALL(isa, mask_range, (out, in, lo, hi, threshold, key_lo,
                                                       key_hi, scale, (uint32_t)first)));
}

void fnn_dropout_forward(float *y, const float *x, int64_t n, float rate, uint64_t seed,
                         int64_t first) {
    apply_mask(y, x, n, rate, seed, first);
}

void fnn_dropout_backward(float *dx, const float *dy, int64_t n, float rate, uint64_t seed,
                          int64_t first) {
    apply_mask(dx, dy, n, rate, seed, first);
}
