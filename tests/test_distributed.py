"""Data-parallel training over MPI (fastnn.distributed).

The first tests need no MPI: a single process never imports mpi4py and says what to
install when asked for a job it cannot join.  The others run tests/mpi_worker.py under
`mpirun` and compare what every rank ended with; they are skipped, with the reason,
where mpirun or mpi4py is missing (FASTNN_TEST_MPI=require, set by .ci/run, turns the
skip into a failure).  Every launch has a timeout as a safety net: a hang is a failure.
"""
import doctest
import functools
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import fastnn
import fastnn.distributed as dist

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpi_worker.py")
FASTNN_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))


def child_env(**extra):
    """This environment, minus thread settings and launcher variables, plus `extra`;
    children import the fastnn this test imported."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "FASTNN_NUM_THREADS", "OMPI_COMM_WORLD_SIZE",
                        "PMI_SIZE", "MV2_COMM_WORLD_SIZE")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (FASTNN_PARENT, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def run(cmd, env, cwd, timeout):
    """Run cmd in its own process group; on timeout end the group (SIGTERM, then SIGKILL)
    and fail.  Returns (returncode, stdout + stderr)."""
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                out, _ = proc.communicate(timeout=10)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                out = ""
        pytest.fail(f"{' '.join(cmd)} did not finish in {timeout} s (a hang):\n{out}")
    return proc.returncode, out


# ---- one process, no MPI needed -------------------------------------------------------

def test_import_fastnn_never_imports_mpi4py(tmp_path):
    code = ("import sys, fastnn, fastnn.models, fastnn.callbacks, fastnn.distributed as d\n"
            "d.init()\n"
            "assert (d.size(), d.rank(), d.is_chief(), d.is_initialized()) == (1, 0, True, False)\n"
            "assert 'mpi4py' not in sys.modules, 'mpi4py imported'\n")
    rc, out = run([sys.executable, "-c", code], child_env(), tmp_path, 120)
    assert rc == 0, out


def test_single_process_api():
    dist.init()  # not started by a launcher: nothing to join
    assert (dist.size(), dist.rank(), dist.is_chief()) == (1, 0, True)
    assert dist.communicator() is None
    dist.barrier()


def test_doctests():
    assert doctest.testmod(dist).failed == 0


def test_init_without_mpi4py_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import fastnn.distributed as d\n"
            "try:\n    d.init()\nexcept ImportError as e:\n    print(e)\n")
    rc, out = run([sys.executable, "-c", code], child_env(OMPI_COMM_WORLD_SIZE="2"), tmp_path, 120)
    assert rc == 0, out
    assert "fastnn.distributed needs mpi4py" in out and "2 processes" in out
    assert "apt-get install openmpi-bin libopenmpi-dev && pip install mpi4py" in out


def test_fit_under_a_launcher_without_init_warns(tmp_path):
    code = ("import warnings, numpy as np\n"
            "from fastnn.models import Sequential\nfrom fastnn.layers import Dense, Input\n"
            "m = Sequential([Input((3,)), Dense(1)]); m.compile(loss='mse', optimizer='sgd')\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    m.fit(np.ones((4, 3)), np.ones(4), verbose=0)\n"
            "print([str(x.message) for x in w])\n")
    rc, out = run([sys.executable, "-c", code], child_env(OMPI_COMM_WORLD_SIZE="2"), tmp_path, 120)
    assert rc == 0, out
    assert "fastnn.distributed.init() was not called" in out


# ---- under mpirun -----------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def mpi_launcher():
    """(argv prefix for N ranks as a format string, None) or (None, why not)."""
    exe = shutil.which("mpirun") or shutil.which("mpiexec")
    if exe is None:
        return None, ("no mpirun/mpiexec on PATH (install Open MPI: "
                      "apt-get install openmpi-bin libopenmpi-dev)")
    probe = "from mpi4py import MPI; print(MPI.Get_library_version())"
    rc, out = run([sys.executable, "-c", probe], child_env(), None, 120)
    if rc != 0:
        return None, ("mpi4py cannot be imported or cannot load an MPI library "
                      f"(pip install mpi4py): {out[-300:]}")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    prefix = [exe]
    if "Open MPI" in version or "OpenRTE" in version:
        prefix += ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    return prefix, None


@pytest.fixture
def mpi_prefix():
    """The launcher's argv prefix (mpirun and its flags), or a skip saying what is missing."""
    prefix, why = mpi_launcher()
    if prefix is None:
        if os.environ.get("FASTNN_TEST_MPI") == "require":
            pytest.fail(f"FASTNN_TEST_MPI=require, but {why}")
        pytest.skip(why)
    return prefix


@pytest.fixture
def mpirun(mpi_prefix, tmp_path):
    prefix = mpi_prefix

    def launch(n, scenario, *args, env=None, timeout=180):
        outdir = tmp_path / f"{scenario}-{n}"
        outdir.mkdir()
        cmd = prefix + ["-np", str(n), sys.executable, WORKER, scenario, str(outdir), *args]
        rc, out = run(cmd, env or child_env(), tmp_path, timeout)
        ranks = [dict(np.load(outdir / f"rank{r}.npz")) for r in range(n)
                 if (outdir / f"rank{r}.npz").exists()]
        return rc, out, ranks
    return launch


def one_process(tmp_path, batch):
    outdir = tmp_path / f"single-{batch}"
    outdir.mkdir()
    rc, out = run([sys.executable, WORKER, "train", str(outdir), "--batch", str(batch)],
                  child_env(), tmp_path, 180)
    assert rc == 0, out
    return dict(np.load(outdir / "rank0.npz"))


@pytest.mark.parametrize("n", [2, 3])
def test_n_ranks_agree_bitwise_and_match_one_process_at_n_times_the_batch(mpirun, tmp_path, n):
    # 97 training samples: the last global batch (n * 16) has one sample, so some ranks'
    # shares are empty; 31 validation and 33 test samples split unevenly between ranks.
    rc, out, ranks = mpirun(n, "train", "--batch", "16")
    assert rc == 0 and len(ranks) == n, out
    for key in ranks[0]:  # weights, optimizer state, history, evaluate, predict, ...
        for r in ranks[1:]:
            assert r[key].tobytes() == ranks[0][key].tobytes(), f"rank differs in {key}"
    single = one_process(tmp_path, 16 * n)
    assert int(ranks[0]["size"]) == n and int(single["size"]) == 1
    assert int(ranks[0]["steps"]) == int(single["steps"]) == 3 * -(-97 // (16 * n))
    for key in single:
        if key.startswith(("history_", "evaluate", "predict", "train_on_batch", "weights",
                           "optimizer_")):
            # the same samples, masks and maths; only the float32 sum order differs
            np.testing.assert_allclose(ranks[0][key], single[key], rtol=1e-4, atol=1e-6,
                                       err_msg=key)
    cpus = os.cpu_count() or 1
    for r in ranks:  # threads per rank: ranks x threads fit the cores
        assert 1 <= int(r["threads"]) and int(r["threads"]) * n <= max(cpus, n)


def test_a_stop_on_one_rank_stops_every_rank_and_threads_are_overridable(mpirun):
    rc, out, ranks = mpirun(2, "stop", env=child_env(FASTNN_NUM_THREADS="2"))
    assert rc == 0 and len(ranks) == 2, out
    assert [int(r["steps"]) for r in ranks] == [5, 5]  # rank 1 asked at step 5
    assert len(ranks[0]["history_loss"]) == len(ranks[1]["history_loss"]) == 2
    assert ranks[0]["weights"].tobytes() == ranks[1]["weights"].tobytes()
    assert [int(r["threads"]) for r in ranks] == [2, 2]  # FASTNN_NUM_THREADS wins


@pytest.mark.parametrize("scenario", ["fail", "crash"])
def test_a_failing_rank_ends_the_job_with_an_error(mpirun, scenario):
    rc, out, ranks = mpirun(2, scenario, timeout=120)
    assert rc != 0, out
    assert not ranks  # nobody finished
    if scenario == "fail":
        assert "RuntimeError: rank 1 failed on purpose" in out
        assert "fastnn.distributed: rank 1 of 2 failed" in out


def test_the_cnn_example_under_mpirun_prints_once(mpi_prefix, tmp_path):
    example = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "examples", "mnist_cnn.py")
    if not os.path.exists(example):
        pytest.skip("examples/ is not next to tests/")
    rc, out = run(mpi_prefix + ["-np", "2", sys.executable, example, "--limit", "1500",
                                "--epochs", "2"], child_env(), tmp_path, 300)
    assert rc == 0, out
    assert "data-parallel over 2 processes" in out and "batch 128 per process, 256 per step" in out
    for line in ("Total params: 34,826", "Epoch 1/2", "Epoch 2/2", "The test accuracy is"):
        assert out.count(line) == 1, (line, out)
    assert float(out.split("The test accuracy is ")[1].split("%")[0]) > 40


def test_checkpoints_are_written_once_and_a_backup_resumes_every_rank(mpirun, tmp_path):
    rc, out, whole = mpirun(2, "backup")  # 4 epochs, uninterrupted
    assert rc == 0 and len(whole) == 2, out
    assert [int(r["saves"]) for r in whole] == [4, 0]  # ModelCheckpoint: rank 0 writes
    assert out.count(": saving model to") == out.count(": finished saving") == 4  # rank 0 prints
    folder = tmp_path / "backup-2"
    assert sorted(p.name for p in folder.glob("ck-*")) == \
        [f"ck-0{e}.weights.h5" for e in (1, 2, 3, 4)]
    assert len((folder / "log.csv").read_text().splitlines()) == 1 + 4
    assert not any(folder.glob("backup-rank*"))  # deleted at the end, by rank 0
    # Interrupted at the start of epoch 3: rank 0 backed up epochs 1-2 into its own folder
    # (as on a node-local disk), rank 1 has nothing; the rerun resumes both from rank 0's.
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    argv = ["-np", "2", sys.executable, WORKER, "backup", str(resumed)]
    rc, out = run(mpi_launcher()[0] + argv + ["--interrupt-at", "2"], child_env(), tmp_path, 180)
    assert rc != 0 and "interrupted at epoch 3" in out, out
    assert (resumed / "backup-rank0").is_dir() and not (resumed / "backup-rank1").exists()
    rc, out = run(mpi_launcher()[0] + argv, child_env(), tmp_path, 180)
    assert rc == 0, out
    ranks = [dict(np.load(resumed / f"rank{r}.npz")) for r in range(2)]
    assert [int(r["steps"]) for r in ranks] == [int(whole[0]["steps"]) // 2] * 2  # 2 epochs
    for key in ("weights", "optimizer_m"):  # bit-identical to the uninterrupted run
        for r in ranks:
            assert r[key].tobytes() == whole[0][key].tobytes(), key
    assert len((resumed / "log.csv").read_text().splitlines()) == 1 + 4


def test_batchnorm_moving_statistics_agree_across_ranks(mpirun, tmp_path):
    """Each rank normalizes with its own share of the batch; the moving statistics follow
    the ranks' batch moments averaged by sample count, bitwise the same on every rank
    (including a rank whose share of the last batch is empty), and near one process's."""
    rc, out, ranks = mpirun(3, "train", "--batch", "16", "--bn")
    assert rc == 0 and len(ranks) == 3, out
    for key in ranks[0]:
        for r in ranks[1:]:
            assert r[key].tobytes() == ranks[0][key].tobytes(), f"rank differs in {key}"
    outdir = tmp_path / "single-bn"
    outdir.mkdir()
    rc, out = run([sys.executable, WORKER, "train", str(outdir), "--batch", "48", "--bn"],
                  child_env(), tmp_path, 180)
    assert rc == 0, out
    single = dict(np.load(outdir / "rank0.npz"))
    # conv kernel (36) and bias (4), then gamma, beta, moving_mean, moving_variance (4 each)
    mean_dist, mean_single = ranks[0]["weights"][48:52], single["weights"][48:52]
    np.testing.assert_allclose(mean_dist, mean_single, rtol=0.05, atol=0.02)


@pytest.mark.parametrize("n", [2, 3])
def test_synchronized_batchnorm_matches_one_process_on_the_whole_batch(mpirun, tmp_path, n):
    """BatchNormalization(synchronized=True): every rank normalizes with the statistics of
    the whole global batch (forward allreduce) and its dx takes the whole batch's terms
    (backward allreduce), so n ranks train like one process on the concatenated batch,
    including steps where a rank's share is empty (97 samples)."""
    rc, out, ranks = mpirun(n, "train", "--batch", "16", "--sync-bn")
    assert rc == 0 and len(ranks) == n, out
    for key in ranks[0]:
        for r in ranks[1:]:
            assert r[key].tobytes() == ranks[0][key].tobytes(), f"rank differs in {key}"
    outdir = tmp_path / "single-sync-bn"
    outdir.mkdir()
    rc, out = run([sys.executable, WORKER, "train", str(outdir), "--batch", str(16 * n),
                   "--sync-bn"], child_env(), tmp_path, 180)
    assert rc == 0, out
    single = dict(np.load(outdir / "rank0.npz"))
    for key in single:
        if key.startswith(("history_", "evaluate", "predict", "weights", "optimizer_")):
            np.testing.assert_allclose(ranks[0][key], single[key], rtol=2e-4, atol=2e-6,
                                       err_msg=key)


def test_rnn_and_embedding_ranks_agree_and_match_one_process(mpirun, tmp_path):
    """Embedding(mask_zero=True) -> LSTM(dropout) -> GRU under 2 ranks: bitwise the same on
    every rank, and one process at twice the batch up to the float32 sum order."""
    rc, out, ranks = mpirun(2, "train", "--batch", "16", "--rnn")
    assert rc == 0 and len(ranks) == 2, out
    for key in ranks[0]:
        assert ranks[1][key].tobytes() == ranks[0][key].tobytes(), f"rank differs in {key}"
    outdir = tmp_path / "single-rnn"
    outdir.mkdir()
    rc, out = run([sys.executable, WORKER, "train", str(outdir), "--batch", "32", "--rnn"],
                  child_env(), tmp_path, 180)
    assert rc == 0, out
    single = dict(np.load(outdir / "rank0.npz"))
    for key in single:
        if key.startswith(("history_", "evaluate", "predict", "weights")):
            np.testing.assert_allclose(ranks[0][key], single[key], rtol=1e-4, atol=1e-6,
                                       err_msg=key)
