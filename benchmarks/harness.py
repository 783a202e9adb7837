"""Shared benchmark helpers: limiting NumPy's BLAS threads, timing, and the table header.

Timing is the median of repeated runs after a warm-up; ratios are only meaningful
against a baseline measured in the same run (the machines are shared and noisy).
"""
import os
import platform
import statistics
import time

import numpy as np

import fastnn
from fastnn import _C


def limit_blas_threads(n):
    """Limit NumPy's BLAS to n threads.

    Returns (limited, note): limited is True only if threadpoolctl is installed, found a
    BLAS and every BLAS it found now reports n threads; note describes it for the header.
    """
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return False, ("NumPy BLAS threads NOT limited (pip install threadpoolctl); "
                       "the NumPy baseline may use every core")
    threadpool_limits(limits=n, user_api="blas")
    blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    if not blas or any(p.get("num_threads") != n for p in blas):
        found = ", ".join(f"{p.get('internal_api')}={p.get('num_threads')}" for p in blas)
        return False, (f"NumPy BLAS threads NOT limited to {n}: threadpoolctl found "
                       f"[{found or 'no BLAS'}]")
    names = ", ".join(f"{p.get('internal_api')} {p.get('version')}" for p in blas)
    return True, f"NumPy BLAS ({names}) limited to {n} thread(s) with threadpoolctl"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_seconds(fn, min_time=0.2, min_reps=5, max_reps=200):
    """Median wall time of fn() after one warm-up call."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < min_time and len(times) < max_reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def header(title, threads, blas_note):
    return "\n".join([
        f"# {title}",
        "",
        f"- CPU: {cpu_name()} ({os.cpu_count()} logical CPUs)",
        f"- fastnn {fastnn.__version__}: GEMM ISA `{_C.gemm_isa()}`, {threads} thread(s), "
        f"OpenMP {'on' if _C.has_openmp() else 'OFF'}",
        f"- NumPy {np.__version__}; {blas_note}",
        "- times: median of repeated runs after a warm-up",
        "",
    ])


class BusyProcesses:
    """N processes busy-looping on the CPU while the `with` block runs (a user's other
    work, as the scheduler sees it), always stopped on the way out."""

    def __init__(self, n):
        self.n, self.procs = n, []

    def __enter__(self):
        import subprocess
        import sys
        for _ in range(self.n):
            self.procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        time.sleep(0.2 if self.n else 0)  # let the scheduler place them
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        self.procs = []
