"""Build of fastnn's one extension module, fastnn._C: csrc/**/*.c plus fastnn/_C.pyx.

OpenMP is found by compiling a tiny program.  Without it the build still succeeds and
the kernels run single-threaded (said loudly here and in fastnn.show_config()).
Flags stay portable: -O3, no -march=native, no -ffast-math; ISA-specific code uses
function-level target attributes and runtime dispatch instead.
"""
import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))

OPENMP_PROBE = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 && omp_get_max_threads() > 0 ? 0 : 1;
}
"""


def compiler_command():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return cc.split()


def probe_openmp():
    """Return (compile_flags, link_flags) that build and run an OpenMP program, or None."""
    candidates = [(["-fopenmp"], ["-fopenmp"])]
    if sys.platform == "darwin":  # Apple clang: libomp from Homebrew
        candidates.append((["-Xpreprocessor", "-fopenmp"], ["-lomp"]))
    tmp = tempfile.mkdtemp()
    try:
        src = os.path.join(tmp, "probe.c")
        exe = os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write(OPENMP_PROBE)
        for cflags, lflags in candidates:
            cmd = compiler_command() + cflags + [src, "-o", exe] + lflags
            try:
                built = subprocess.run(cmd, capture_output=True).returncode == 0
                if built and subprocess.run([exe], capture_output=True).returncode == 0:
                    return cflags, lflags
            except OSError:
                pass
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sanitizer_flags():
    """FASTNN_SANITIZE=address,undefined builds with ASan/UBSan (for the test scripts)."""
    wanted = os.environ.get("FASTNN_SANITIZE", "").strip()
    if not wanted:
        return [], []
    flags = [f"-fsanitize={wanted}", "-fno-omit-frame-pointer", "-g", "-O1"]
    return flags, [f"-fsanitize={wanted}"]


def extension():
    sources = sorted(glob.glob("csrc/**/*.c", recursive=True)) + ["fastnn/_C.pyx"]
    cflags = ["-O3", "-std=gnu11", "-Wall", "-Wno-unknown-pragmas", "-fno-math-errno"]
    lflags = []
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    omp = probe_openmp()
    if omp:
        cflags += omp[0]
        lflags += omp[1]
        print("fastnn build: OpenMP found, kernels will run multi-threaded.")
    else:
        banner = "#" * 78
        print(f"\n{banner}\n# fastnn build: OpenMP NOT FOUND. The kernels will run SINGLE-THREADED.\n"
              f"# Install a compiler with OpenMP (gcc, or clang + libomp) and rebuild.\n{banner}\n",
              file=sys.stderr)
    scflags, slflags = sanitizer_flags()
    cflags += scflags
    lflags += slflags
    return Extension(
        "fastnn._C",
        sources=sources,
        include_dirs=["csrc", np.get_include()],
        define_macros=macros,
        extra_compile_args=cflags,
        extra_link_args=lflags,
    )


setup(
    ext_modules=cythonize(
        [extension()],
        compiler_directives={"language_level": "3", "boundscheck": False,
                             "wraparound": False, "cdivision": True},
    ),
)
