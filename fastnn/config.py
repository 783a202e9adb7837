"""The one place fastnn reads environment variables.

FASTNN_NUM_THREADS  threads for the kernels (default: OpenMP's default, i.e.
                    OMP_NUM_THREADS or the number of cores; when neither is set, fit
                    runs on fewer threads while the machine is busy: fastnn/team.py)
FASTNN_ISA          force a GEMM micro-kernel: one of fastnn.show_config()'s list
FASTNN_DATA         a directory holding dataset files (mnist.npz, Fashion-MNIST's IDX .gz
                    files), searched first by fastnn.datasets
KERAS_HOME          Keras's home (default ~/.keras): fastnn.datasets reuses the files Keras
                    downloaded into its datasets/ folder
OMP_NUM_THREADS     OpenMP's own setting; fastnn.distributed.init() leaves the thread count
                    alone when it (or FASTNN_NUM_THREADS) is set
OMPI_COMM_WORLD_SIZE, PMI_SIZE, MV2_COMM_WORLD_SIZE
                    set by MPI launchers (Open MPI's mpirun; MPICH's and Intel MPI's
                    mpiexec, Slurm's srun --mpi=pmi2; MVAPICH2): the number of processes
                    started.  fastnn.distributed.init() joins an MPI job only when one of
                    them is above 1, so a single process never imports mpi4py.
OMP_WAIT_POLICY, GOMP_SPINCOUNT
                    OpenMP's own; when neither is set, fastnn's threads wait passively
                    (see openmp_wait_policy)
"""
import contextlib
import os


def _positive_int(name):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, received {name}={raw!r}")
    return value


NUM_THREADS = _positive_int("FASTNN_NUM_THREADS")
ISA = (os.environ.get("FASTNN_ISA") or "").strip().lower() or None
DATA_DIR = os.environ.get("FASTNN_DATA") or None
KERAS_HOME = os.environ.get("KERAS_HOME") or None

OMP_NUM_THREADS_SET = bool((os.environ.get("OMP_NUM_THREADS") or "").strip())


def _launcher_size():
    for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"):
        raw = (os.environ.get(name) or "").strip()
        if raw.isdigit():
            return int(raw)
    return None


MPI_WORLD_SIZE = _launcher_size()  # None: not started by a known MPI launcher


@contextlib.contextmanager
def openmp_wait_policy():
    """Around the kernels' import: OpenMP threads waiting for work (between parallel
    regions, at barriers) sleep instead of spinning, unless the environment already chose
    (OMP_WAIT_POLICY, GOMP_SPINCOUNT).  A spinning thread holds its core: on a machine
    running anything else, the thread the others wait for then queues behind it, and
    every parallel region waits a scheduler tick.  libgomp reads the variable once, when
    the import loads it, so the process's environment is left as it was."""
    chosen = any(k in os.environ for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))
    if not chosen:
        os.environ["OMP_WAIT_POLICY"] = "passive"
    try:
        yield
    finally:
        if not chosen:
            del os.environ["OMP_WAIT_POLICY"]
