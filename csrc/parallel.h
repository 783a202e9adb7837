/* parallel.h -- internal helpers for OpenMP use inside the kernels. */
#ifndef FNN_PARALLEL_H
#define FNN_PARALLEL_H

#include "fnn.h"

#ifdef _OPENMP
#include <omp.h>
#define FNN_THREAD_ID() omp_get_thread_num()
#else
#define FNN_THREAD_ID() 0
#endif

/* Plain C loops the compiler vectorizes, compiled also for AVX-512 and AVX2 and chosen by
 * CPU at load time (GCC's function multi-versioning), since the portable build targets
 * baseline x86-64 (SSE2).  No intrinsics: the same source for every ISA.  The clones are
 * the x86-64 micro-architecture levels, which include FMA (a plain "avx512f" or "avx2"
 * clone does not: its a * b + c stays a multiply and an add). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__)
#define FNN_VECTOR_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FNN_VECTOR_CLONES
#endif

/* The same idea with the GEMM's choice of ISA, so FASTNN_ISA (and the tests that force
 * each ISA) cover every path: write the loop once as an FNN_INLINE body, give each ISA a
 * one-line wrapper with FNN_TARGET_AVX512 / FNN_TARGET_AVX2 (the GEMM's avx512 and avx2
 * feature sets, FMA included) and a plain one, and call the one fnn_vector_isa() names. */
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

/* Work (roughly, element operations) below which a loop runs serially: on two cores
 * waking a second thread costs a few microseconds, as much as ~64K simple flops. */
#define FNN_PAR_MIN_WORK 65536

/* Number of threads to use for a loop of `work` element operations. */
static inline int fnn_threads_for(int64_t work) {
    return work < FNN_PAR_MIN_WORK ? 1 : fnn_get_num_threads();
}

#ifdef _OPENMP
#define FNN_NUM_TEAM() omp_get_num_threads()
#else
#define FNN_NUM_TEAM() 1
#endif

/* The team to start for a region in which `nt` threads have work: 1 (a serial region,
 * which never touches OpenMP's thread pool) or the whole thread count, never a size in
 * between.  libgomp ends its surplus pool threads whenever a team is smaller than the
 * previous one and creates new ones when a team grows again, so teams sized to the work
 * (a GEMM of 2 tiles, then one of 4) cost a thread creation per region.  Threads beyond
 * fnn_workers(nt) skip the work. */
static inline int fnn_team(int nt) {
    int all = fnn_get_num_threads();
    return nt > 1 ? (nt > all ? nt : all) : 1;
}

/* Inside a region: how many threads share its work, at most `nt` and at most the team
 * OpenMP actually started, which is smaller than asked under OMP_THREAD_LIMIT,
 * OMP_DYNAMIC=true or nesting (work split for the team asked for would be left undone).
 * Every kernel's result is independent of this number. */
static inline int fnn_workers(int nt) {
    int team = FNN_NUM_TEAM();
    return nt < team ? nt : team;
}

/* Chunk indices handed out one at a time inside a parallel region:
 *     int64_t next = 0;               (shared, before the region)
 *     for (int64_t c; (c = fnn_next_chunk(&next)) < nchunks;) ...
 * A thread slowed down by another process on its core takes fewer chunks instead of
 * holding up the team; the result is the same whoever computes a chunk, so only work
 * whose chunks are independent (or are summed afterwards in chunk order) uses it. */
static inline int64_t fnn_next_chunk(int64_t *next) {
    return __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
}

/* How many chunks to cut `units` of work into for `n_t` threads: several per thread,
 * so a slowed thread's share can move, and none empty. */
#define FNN_CHUNKS_PER_THREAD 8
static inline int64_t fnn_dynamic_chunks(int64_t units, int n_t) {
    int64_t want = (int64_t)n_t * FNN_CHUNKS_PER_THREAD;
    return n_t <= 1 ? 1 : (units < want ? units : want);
}

/* Runs `call_range` (an expression using lo and hi) over [0, n): directly when the work
 * (n * cost) is small, else in chunks of whole 16-element blocks (cache lines) handed
 * out to the threads as they come.  Kernels put their loop in a function of (lo, hi),
 * which the compiler vectorizes as a plain loop; an OpenMP worksharing loop run by one
 * thread was seen falling back to scalar code here (ReLU backward 20x slower with 1
 * thread than with 2). */
#define FNN_RUN_SPLIT(n, cost, call_range)                                   \
    do {                                                                 \
        int nt_ = fnn_threads_for((n) * (cost));                         \
        if (nt_ == 1) {                                                  \
            int64_t lo = 0, hi = (n);                                    \
            call_range;                                                  \
        } else {                                                         \
            int64_t next_ = 0, blocks_ = ((n) + 15) / 16;                \
            _Pragma("omp parallel num_threads(nt_)") {                   \
                int64_t nch_ = fnn_dynamic_chunks(blocks_, FNN_NUM_TEAM());  \
                for (int64_t c_; (c_ = fnn_next_chunk(&next_)) < nch_;) {    \
                    int64_t lo = blocks_ * c_ / nch_ * 16;               \
                    int64_t hi = blocks_ * (c_ + 1) / nch_ * 16;         \
                    if (hi > (n)) hi = (n);                              \
                    call_range;                                          \
                }                                                        \
            }                                                            \
        }                                                                \
    } while (0)

static inline int64_t fnn_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t fnn_max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t fnn_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

#endif
