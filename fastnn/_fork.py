"""fastnn after os.fork (multiprocessing's "fork" start method, the default on Linux
before Python 3.14).

GNU OpenMP (libgomp, what gcc builds use) keeps a pool of worker threads after the
first multi-threaded parallel region.  A forked child inherits the pool's bookkeeping
but not its threads, so its first multi-threaded parallel region waits forever for
workers that do not exist: the child hangs (seen here: an 8-line script hangs on its
first large kernel in the child).  libgomp has no way to reset its pool.

So in a child forked after this process ran any fastnn kernel, fastnn runs every
kernel on one thread (set_num_threads(n > 1) there warns and keeps 1).  Parallel
regions of one thread never touch the pool, so the child trains correctly, just
serially.  A child forked before any kernel ran keeps the thread count.  To train with
threads in child processes, start them with multiprocessing's "spawn" or "forkserver"
method: they are fresh interpreters.
"""
import os

from fastnn import _C


def _after_fork_in_child():
    if _C.kernels_ran():
        _C.fork_child_single_threaded()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
