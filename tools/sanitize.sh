#!/usr/bin/env bash
# Build fastnn with AddressSanitizer + UndefinedBehaviorSanitizer and run the whole test
# suite against that build.  Passes only if every test passes AND the sanitizers report
# nothing (reports from every process the tests start are collected as files).
#
#   tools/sanitize.sh                  # the whole suite
#   tools/sanitize.sh -k conv -x       # extra arguments go to pytest
#   tools/sanitize.sh tests/test_kernels.py            # some tests (repository paths)
#
# Works from a clean clone: it copies the source tree (git's tracked and untracked,
# non-ignored files) into its own directory, builds there in a virtual environment
# (reusing the system's numpy/Cython/pytest/hypothesis when present, else pip installs
# them) and never touches the tree's own build/ or in-place extension.
# Environment: SANITIZE_DIR (default: build/sanitize), FASTNN_SANITIZE (default
# address,undefined), PYTHON (default python3).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${SANITIZE_DIR:-$REPO/build/sanitize}"
PYTHON="${PYTHON:-python3}"
SANITIZERS="${FASTNN_SANITIZE:-address,undefined}"
SRC="$WORK/src"
VENV="$WORK/venv"
REPORTS="$WORK/reports"

echo "== fastnn sanitizer run ($SANITIZERS) in $WORK"
rm -rf "$SRC" "$REPORTS"
mkdir -p "$SRC" "$REPORTS"

# 1. a clean copy of the sources
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
        grep -zv '^build/' | xargs -0 cp --parents -t "$SRC")
else
    (cd "$REPO" && tar --exclude=./build --exclude='*.so' --exclude=./.git -cf - .) |
        (cd "$SRC" && tar -xf -)
fi
find "$SRC" -name '*.so' -delete

# 2. a virtual environment with the build and test requirements
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/python" - <<'PY' || "$VENV/bin/python" -m pip install -q "Cython>=3.0" "numpy>=1.23" setuptools wheel "pytest>=7" "hypothesis>=6"
import Cython, numpy, setuptools, wheel, pytest, hypothesis  # noqa: F401
PY

# 3. the sanitized build (setup.py reads FASTNN_SANITIZE)
(cd "$SRC" && FASTNN_SANITIZE="$SANITIZERS" "$VENV/bin/python" -m pip install -q \
    --no-build-isolation --no-deps --force-reinstall . )

# 4. the whole suite, in processes that load the ASan runtime first (python itself is
# not instrumented); CPython's own allocations are not freed at exit (detect_leaks=0),
# and numpy's answer to an impossible allocation is a MemoryError, not an abort
# (libstdc++ is preloaded with it: the tests also start TensorFlow, the Keras reference,
# whose C++ exceptions abort in ASan's __cxa_throw interceptor when libasan comes first
# alone: "CHECK failed: asan_interceptors.cpp:320 real___cxa_throw")
PRELOAD=""
PATH_FIRST=""
if [[ "$SANITIZERS" == *address* ]]; then
    ASAN_LIB="$(gcc -print-file-name=libasan.so)"
    [ -f "$ASAN_LIB" ] || { echo "libasan.so not found (gcc -print-file-name=libasan.so)"; exit 2; }
    PRELOAD="$ASAN_LIB"
    STDCXX="$(gcc -print-file-name=libstdc++.so)"
    [ -f "$STDCXX" ] && PRELOAD="$ASAN_LIB $(realpath "$STDCXX")"
    # mpirun itself is not fastnn: Open MPI 4's orte has a use-after-free of its own
    # (orte_rml_oob_send_buffer_nb) that ASan reports.  Its ranks (fastnn) keep the preload.
    REAL_MPIRUN="$(command -v mpirun || true)"
    if [ -n "$REAL_MPIRUN" ]; then
        PATH_FIRST="$WORK/bin"
        mkdir -p "$PATH_FIRST"
        printf '#!/usr/bin/env bash\nexec env -u LD_PRELOAD %q -x LD_PRELOAD=%q -x ASAN_OPTIONS -x UBSAN_OPTIONS "$@"\n' \
            "$REAL_MPIRUN" "$PRELOAD" > "$PATH_FIRST/mpirun"
        chmod +x "$PATH_FIRST/mpirun"
    fi
fi
run() {
    env LD_PRELOAD="$PRELOAD" PATH="${PATH_FIRST:+$PATH_FIRST:}$PATH" \
        ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:log_path=$REPORTS/asan:${ASAN_OPTIONS:-}" \
        UBSAN_OPTIONS="print_stacktrace=1:log_path=$REPORTS/ubsan:${UBSAN_OPTIONS:-}" "$@"
}
cd "$WORK"
SO="$(run "$VENV/bin/python" -c 'import fastnn._C as c; print(c.__file__)')"
if [ -n "$PRELOAD" ] && ! ldd "$SO" | grep -q libasan; then
    echo "$SO is not linked with ASan"; exit 2
fi
echo "== built $SO"
ARGS=()
for arg in "$@"; do  # test paths are the repository's: run the copy's
    if [[ "$arg" == tests* ]]; then ARGS+=("$SRC/$arg"); else ARGS+=("$arg"); fi
done
[[ " ${ARGS[*]:-} " == *" $SRC/tests"* ]] || ARGS=("$SRC/tests" "${ARGS[@]}")
set +e
run "$VENV/bin/python" -m pytest -p no:cacheprovider -q "${ARGS[@]}"
status=$?
set -e

# 5. the verdict: tests and sanitizer reports
reports=$(find "$REPORTS" -type f | wc -l)
if [ "$reports" -gt 0 ]; then
    echo "== sanitizers reported problems in $reports file(s):"
    for f in "$REPORTS"/*; do echo "---- $f"; head -40 "$f"; done
    exit 1
fi
echo "== sanitizer reports: none"
exit $status
