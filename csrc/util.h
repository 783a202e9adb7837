/* util.h -- small helpers the kernel files share (internal: not part of fnn.h's contract).
 *
 *  - integer helpers: fnn_min64, fnn_max64, fnn_ceil_div, fnn_round_up;
 *  - workspaces: FNN_ALIGN_FLOATS, fnn_align_up (64-byte alignment of a float pointer),
 *    fnn_threads_fitting (threads whose scratch fits in a workspace);
 *  - fnn_rotate_kernel: a convolution kernel rotated by 180 degrees, channel axes swapped;
 *  - per-ISA plain C: the one mechanism (FNN_ISA_VARIANTS / FNN_ISA_CALL) by which plain
 *    C loops are compiled for AVX-512, AVX2 and baseline x86-64 and run with the GEMM's
 *    choice of ISA (fnn_vector_isa()), so FASTNN_ISA and the ISA tests reach every path.
 * parallel.h includes this file; kernel files include parallel.h. */
#ifndef FNN_UTIL_H
#define FNN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "fnn.h"

/* ---- integers ---------------------------------------------------------------------- */

static inline int64_t fnn_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t fnn_max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t fnn_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
/* a rounded up to a multiple of m */
static inline int64_t fnn_round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }

/* ---- workspaces ---------------------------------------------------------------------- */

/* Floats of slack per buffer carved out of a workspace with fnn_align_up (64 bytes). */
#define FNN_ALIGN_FLOATS 16
static inline float *fnn_align_up(float *p) {
    return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

/* Threads whose scratch fits in a workspace of work_size floats: `shared` floats for the
 * whole team, then per_thread (> 0) floats each; at most `want` and at least 1 (the
 * caller's workspace always holds one thread). */
static inline int fnn_threads_fitting(size_t work_size, size_t shared, size_t per_thread,
                                      int want) {
    size_t room = work_size > shared ? (work_size - shared) / per_thread : 0;
    int nt = (int64_t)want > (int64_t)room ? (int)room : want;
    return nt < 1 ? 1 : nt;
}

/* ---- convolution kernels ------------------------------------------------------------- */

/* rot[kh][kw][f][c] = w[KH-1-kh][KW-1-kw][c][f]: the kernel rotated by 180 degrees with
 * its channel axes swapped, the kernel of a stride-1 convolution's input gradient. */
static inline void fnn_rotate_kernel(float *restrict rot, const float *restrict w, int64_t KH,
                                     int64_t KW, int64_t C, int64_t F) {
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++)
            for (int64_t f = 0; f < F; f++)
                for (int64_t c = 0; c < C; c++)
                    rot[((kh * KW + kw) * F + f) * C + c] =
                        w[(((KH - 1 - kh) * KW + (KW - 1 - kw)) * C + c) * F + f];
}

/* ---- per-ISA plain C ----------------------------------------------------------------- */

/* Hand-written ISA code (intrinsics) lives in csrc/gemm/.  Everywhere else a loop the
 * compiler vectorizes is written once, as a plain function or an FNN_INLINE body, and
 *     FNN_ISA_VARIANTS(name, (params), (args))
 * defines name_avx512 and name_avx2 (the body compiled with the GEMM's AVX-512 and AVX2
 * feature sets, FMA included: the portable build targets baseline x86-64) and
 * name_generic (baseline), each calling name(args);
 *     FNN_ISA_CALL(isa, name, (args))
 * calls the one `isa` names (isa = fnn_vector_isa(), read once per kernel call, outside
 * the parallel region); FNN_ISA_PICK(isa, name) is that version's address, for a kernel
 * that passes it on.  A file whose ISA versions differ by more than their target
 * (conv_pool.c's explicit FMA) defines name_avx512 / _avx2 / _generic itself and
 * declares FNN_ISA_SITE(name).  No GCC target_clones or ifuncs: those choose by CPU, not
 * by FASTNN_ISA, so the forced-ISA tests would miss them (tests/test_gemm_isa.py checks
 * the sources for them).
 *
 * Every such function is a site in the "fnn_isa_sites" section that records which ISAs
 * ran it (one relaxed load per call once recorded); fnn_isa_site_* lists them, and the
 * ISA tests force each ISA, run every kernel and check each site ran that ISA's code
 * only. */
#define FNN_INLINE static inline __attribute__((always_inline))
#if defined(__GNUC__) && defined(__x86_64__)
#define FNN_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define FNN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif
enum { FNN_ISA_GENERIC, FNN_ISA_AVX2, FNN_ISA_AVX512 };
static inline int fnn_vector_isa(void) {
    const char *isa = fnn_gemm_isa(); /* "avx512", "avx2" or "generic" */
    return isa[0] != 'a' ? FNN_ISA_GENERIC : isa[3] == '5' ? FNN_ISA_AVX512 : FNN_ISA_AVX2;
}

typedef struct {
    const char *name, *file;
    int ran; /* bit FNN_ISA_x: that version has run since the last reset */
} fnn_isa_site;

#if defined(__ELF__) && defined(__GNUC__)
#define FNN_ISA_SITE(name)                                                                 \
    static fnn_isa_site name##_site = {#name, __FILE__, 0};                                \
    static fnn_isa_site *name##_site_entry                                                 \
        __attribute__((used, section("fnn_isa_sites"), aligned(sizeof(void *)))) = &name##_site;
#else
#define FNN_ISA_SITE(name) static fnn_isa_site name##_site = {#name, __FILE__, 0};
#endif

static inline void fnn_isa_note(fnn_isa_site *site, int isa) {
    const int bit = 1 << isa;
    if (!(__atomic_load_n(&site->ran, __ATOMIC_RELAXED) & bit))
        __atomic_fetch_or(&site->ran, bit, __ATOMIC_RELAXED);
}

#ifdef FNN_TARGET_AVX512
#define FNN_ISA_VARIANTS(name, params, args)                                               \
    FNN_ISA_SITE(name)                                                                     \
    FNN_TARGET_AVX512 static void name##_avx512 params { name args; }                      \
    FNN_TARGET_AVX2 static void name##_avx2 params { name args; }                          \
    static void name##_generic params { name args; }
#define FNN_ISA_CALL(isa, name, args)                                                      \
    (fnn_isa_note(&name##_site, (isa)),                                                    \
     (isa) == FNN_ISA_AVX512 ? name##_avx512 args                                          \
     : (isa) == FNN_ISA_AVX2 ? name##_avx2 args : name##_generic args)
#define FNN_ISA_PICK(isa, name)                                                            \
    (fnn_isa_note(&name##_site, (isa)),                                                    \
     (isa) == FNN_ISA_AVX512 ? name##_avx512 : (isa) == FNN_ISA_AVX2 ? name##_avx2 : name##_generic)
#else
#define FNN_ISA_VARIANTS(name, params, args)                                               \
    FNN_ISA_SITE(name)                                                                     \
    static void name##_generic params { name args; }
#define FNN_ISA_CALL(isa, name, args)                                                      \
    (fnn_isa_note(&name##_site, FNN_ISA_GENERIC), (void)(isa), name##_generic args)
#define FNN_ISA_PICK(isa, name)                                                            \
    (fnn_isa_note(&name##_site, FNN_ISA_GENERIC), (void)(isa), name##_generic)
#endif

#endif
