"""Data-parallel training over MPI, Horovod's way: `init()`, then `fit` as usual.

    import fastnn.distributed as dist
    dist.init()                          # first thing in the script
    ...                                  # build and compile the model as usual
    model.fit(x, y, batch_size=64)       # 64 samples per rank and step

    $ mpirun -np 4 python train.py       # 4 ranks: a global batch of 256 per step

After `init()` in a job of N > 1 processes, every rank holds the whole model and the
whole dataset.  `fit` broadcasts rank 0's weights, optimizer state and random state,
then each step every rank takes its contiguous slice of the global batch of
N * batch_size samples (the same shuffled order on every rank), computes its gradients,
and one allreduce over the model's single contiguous gradient buffer sums them,
weighted by slice sizes, into the gradient of the mean loss over the global batch;
every rank then applies the same update.  Logged loss and metrics are summed over ranks
before they reach callbacks and the progress bar, so they are the means over every
sample, as in one process.  Validation and `evaluate` split the data between the ranks
and reduce the sums; `predict` runs the whole input on every rank.  Only rank 0 prints
the progress bar; every rank runs the callbacks, with identical logs, and a stop asked
for by any rank stops every rank at the same step.

Batch size: `batch_size` is per rank (Horovod's convention); the global batch is
`size() * batch_size`.  N ranks at batch B compute what one process computes at batch
N * B (the same samples in each step, the same dropout masks; only the order of the
float32 gradient sums differs).  To keep a learning rate tuned on one process at batch
B, scale it by N (the linear scaling rule, Goyal et al. 2017, with a few epochs of
warm-up for large N); for Adam and RMSprop that is a starting point to tune from.

Without `init()`, or when not started by an MPI launcher, or with one process,
nothing changes and mpi4py is never imported.  `rank()`, `size()` and `is_chief()` are
cheap to call from anywhere (checkpoint callbacks write only when `is_chief()`).
"""
import os
import sys
import warnings

import numpy as np

from fastnn import config, random

_INSTALL_HINT = (
    "Install an MPI library and mpi4py, e.g. on Debian/Ubuntu\n"
    "    apt-get install openmpi-bin libopenmpi-dev && pip install mpi4py\n"
    "(or `pip install \"fastnn[mpi]\"`), then launch with `mpirun -np N python script.py`.")


class _Local:
    """One process: every hook is the identity."""
    active = False
    size = 1
    rank = 0
    is_chief = True
    comm = None

    def broadcast_state(self, model, once=False):
        pass

    def shard(self, lo, hi):
        return lo, hi

    def start_batch(self, count):
        return count

    def shard_arrays(self, arrays):
        return arrays

    def shard_len(self, n):
        return n

    def average_gradients(self, grads, count, total):
        pass

    def sum(self, values):
        return values

    def any(self, flag):
        return bool(flag)


class _MPIStrategy:
    """N ranks of an MPI communicator, training one model data-parallel."""
    active = True

    def __init__(self, comm, MPI):
        self.comm, self.MPI = comm, MPI
        self.size, self.rank = comm.Get_size(), comm.Get_rank()
        self.is_chief = self.rank == 0
        self._sums = {}
        self._flag = np.zeros(1, dtype=np.int32)

    # ---- state ------------------------------------------------------------------
    def broadcast_state(self, model, once=False):
        """Make every rank's weights, optimizer state (slots, step, learning rate), random
        state (the generator, dropout streams) and the epoch to resume at rank 0's.

        `fit` calls it after the callbacks' `on_train_begin`, so whatever rank 0 restored
        (BackupAndRestore) is what every rank resumes from.  With `once`, only when the
        model's parameters were (re)packed since the last broadcast (train_on_batch).
        """
        if once and getattr(model, "_broadcast_pack", None) is model._packed_ids:
            return
        opt = model.optimizer
        if opt is not None:  # slots follow the variables: lay them out as the model packs
            opt.bind(model._packed_variables)
        slots = opt._slots if opt is not None and opt._slots is not None and \
            opt._slots_size == model._flat_params.size else None
        dropouts = [layer for layer in model.walk_layers() if layer.random_state() is not None]
        mine = (model._flat_params.size, [v.value.size for v in model.non_trainable_weights],
                len(dropouts))
        header = (mine, None if opt is None else (opt.iterations, opt.learning_rate),
                  None if slots is None else len(slots), random.generator().bit_generator.state,
                  [d.random_state() for d in dropouts],
                  getattr(model, "_initial_epoch", None))
        header = self.comm.bcast(header, root=0)
        if header[0] != mine:
            raise ValueError(
                f"fastnn.distributed: rank {self.rank}'s model differs from rank 0's "
                f"(parameters, non-trainable weight sizes, dropout layers: {mine} here, "
                f"{header[0]} on rank 0). Every rank must build the same model.")
        _, opt_state, n_slots, rng_state, dropout_state, model._initial_epoch = header
        self.comm.Bcast(model._flat_params, root=0)
        for v in model.non_trainable_weights:
            self.comm.Bcast(v.value, root=0)
        if opt is not None:
            opt.iterations, opt.learning_rate = opt_state
            if n_slots is None:
                opt._init_slot_state()  # rank 0 has no optimizer state yet
            else:
                if slots is None:
                    slots = opt.ensure_slots(model._flat_params, model._packed_variables)
                for s in slots:
                    self.comm.Bcast(s, root=0)
        random.generator().bit_generator.state = rng_state
        for d, state in zip(dropouts, dropout_state):
            d.set_random_state(state)
        model._broadcast_pack = model._packed_ids

    # ---- data -------------------------------------------------------------------
    def _part(self, n):
        return self.rank * n // self.size, (self.rank + 1) * n // self.size

    def shard(self, lo, hi):
        """This rank's contiguous slice of the global batch [lo, hi) (sizes differ by at
        most one; empty when the batch has fewer samples than ranks)."""
        a, b = self._part(hi - lo)
        random.set_batch_offset(a)
        return lo + a, lo + b

    def start_batch(self, count):
        """A batch each rank brought itself (train_on_batch): the global sample count, and
        this rank's offset in the concatenation of every rank's batch, in rank order."""
        counts = self.comm.allgather(int(count))
        random.set_batch_offset(sum(counts[:self.rank]))
        return sum(counts)

    def shard_len(self, n):
        a, b = self._part(n)
        return b - a

    def shard_arrays(self, arrays):
        """This rank's contiguous part of each array (None passes through)."""
        n = next(len(a) for a in arrays if a is not None)
        a, b = self._part(n)
        return [None if x is None else x[a:b] for x in arrays]

    # ---- reductions -------------------------------------------------------------
    def average_gradients(self, grads, count, total):
        """grads (the mean over this rank's `count` samples) becomes, on every rank, the
        mean over all `total` samples: one in-place allreduce of the fused buffer."""
        if count != total:
            grads *= np.float32(count / total)
        self.comm.Allreduce(self.MPI.IN_PLACE, grads, op=self.MPI.SUM)

    def sum(self, values):
        """Element-wise sums over ranks of a short list of numbers, as float64."""
        buf = self._sums.get(len(values))
        if buf is None:
            buf = self._sums[len(values)] = np.empty(len(values), dtype=np.float64)
        buf[:] = values
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf.tolist()

    def any(self, flag):
        """True on every rank when it is True on any rank."""
        self._flag[0] = 1 if flag else 0
        self.comm.Allreduce(self.MPI.IN_PLACE, self._flag, op=self.MPI.MAX)
        return bool(self._flag[0])


_LOCAL = _Local()
_strategy = _LOCAL
_warned_not_initialized = False


def strategy():
    """What `fit` and `evaluate` consult: the active MPI strategy, or the local no-op one."""
    global _warned_not_initialized
    if _strategy is _LOCAL and not _warned_not_initialized and (config.MPI_WORLD_SIZE or 1) > 1:
        _warned_not_initialized = True
        warnings.warn(
            f"This process is one of {config.MPI_WORLD_SIZE} started by an MPI launcher, but "
            f"fastnn.distributed.init() was not called: every process trains its own model "
            f"on all the data. Call fastnn.distributed.init() at the top of the script to "
            f"train one model data-parallel.", RuntimeWarning, stacklevel=3)
    return _strategy


def _import_mpi():
    try:
        import mpi4py
        if "mpi4py.MPI" not in sys.modules:
            # Only the main thread calls MPI (OpenMP threads never do): ask for no more.
            mpi4py.rc.thread_level = "funneled"
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            f"fastnn.distributed needs mpi4py and an MPI library for a job of "
            f"{config.MPI_WORLD_SIZE or 'several'} processes, and importing mpi4py failed: "
            f"{exc}\n{_INSTALL_HINT}") from exc
    except RuntimeError as exc:  # mpi4py without a loadable MPI library
        raise ImportError(f"fastnn.distributed: mpi4py could not load an MPI library: {exc}\n"
                          f"{_INSTALL_HINT}") from exc
    return MPI


def init(comm=None, threads=None):
    """Join the MPI job this process was started in; a no-op in a single process.

    Call it at the top of the training script, before building the model.  When an MPI
    launcher (`mpirun`, `mpiexec`, `srun --mpi=pmi2`) started more than one process,
    it imports mpi4py, and from then on `fit` and `evaluate` run data-parallel over
    the job's ranks; without a launcher, or with one process, it does nothing (and
    never imports mpi4py).  It also makes an uncaught exception on any rank abort the
    whole job (MPI_Abort) instead of leaving the other ranks waiting forever, and
    sets each rank's thread count so that ranks x threads fit the cores of a node.

    Args:
        comm: an mpi4py communicator to train over (default: `MPI.COMM_WORLD` when a
            launcher is detected).  Pass one for launchers fastnn does not recognize,
            or to train over a subset of the ranks.
        threads: threads per rank.  Default: `FASTNN_NUM_THREADS` or `OMP_NUM_THREADS`
            when set, else the cores this node's ranks may run on, divided evenly
            between them (at least 1, at most this rank's own CPU affinity).

    Raises:
        ImportError: started by a launcher with several processes, but mpi4py or the
            MPI library is missing (the message says what to install).

    >>> import fastnn.distributed as dist
    >>> dist.init()          # a single process: nothing to join
    >>> dist.size(), dist.rank(), dist.is_chief()
    (1, 0, True)
    """
    global _strategy
    if _strategy.active:
        return
    if comm is None:
        if (config.MPI_WORLD_SIZE or 1) <= 1:
            return
        comm = _import_mpi().COMM_WORLD
    MPI = _import_mpi()
    if comm.Get_size() == 1:
        return
    new = _MPIStrategy(comm, MPI)
    _install_abort_hook(new)
    _set_threads(new, threads)
    state = comm.bcast(random.generator().bit_generator.state, root=0)
    random.generator().bit_generator.state = state
    _strategy = new


def _install_abort_hook(strat):
    """An uncaught exception on one rank ends the job: print it, then MPI_Abort."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        try:
            previous(exc_type, exc, tb)
            sys.stderr.write(f"fastnn.distributed: rank {strat.rank} of {strat.size} failed "
                             f"({exc_type.__name__}: {exc}); aborting the whole job.\n")
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            strat.comm.Abort(1)

    sys.excepthook = hook


def _set_threads(strat, threads):
    import fastnn
    if threads is None:
        if config.NUM_THREADS is not None or config.OMP_NUM_THREADS_SET:
            return
        threads = _threads_per_rank(strat)
    fastnn.set_num_threads(int(threads))


def _threads_per_rank(strat):
    """The CPUs this node's ranks may run on, split evenly between them."""
    mine = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        set(range(os.cpu_count() or 1))
    node = strat.comm.Split_type(strat.MPI.COMM_TYPE_SHARED)
    try:
        cpus = set().union(*node.allgather(sorted(mine)))
        per_rank = len(cpus) // node.Get_size()
    finally:
        node.Free()
    return max(1, min(len(mine), per_rank))


def is_initialized():
    """True after `init()` joined a job of several ranks."""
    return _strategy.active


def size():
    """The number of ranks training together (1 unless `init()` joined an MPI job)."""
    return _strategy.size


def rank():
    """This process's rank, 0 to size() - 1 (0 in a single process)."""
    return _strategy.rank


def is_chief():
    """True on rank 0 and in a single process: the one that prints and writes files."""
    return _strategy.is_chief


def communicator():
    """The mpi4py communicator training runs over, or None in a single process."""
    return _strategy.comm


def barrier():
    """Wait until every rank gets here (nothing to wait for in a single process)."""
    if _strategy.active:
        _strategy.comm.Barrier()
