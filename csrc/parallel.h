/* parallel.h -- internal helpers for OpenMP use inside the kernels. */
#ifndef FNN_PARALLEL_H
#define FNN_PARALLEL_H

#include "fnn.h"
#include "util.h"

#ifdef _OPENMP
#include <omp.h>
#define FNN_THREAD_ID() omp_get_thread_num()
#else
#define FNN_THREAD_ID() 0
#endif

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

#endif
