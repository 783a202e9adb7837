#!/usr/bin/env bash
# Run the kernel tests under valgrind memcheck against a normal (unsanitized) build and
# count memcheck's errors, split into those with a frame in fastnn's own code (the _C
# extension: csrc/ and the Cython wrappers) and those entirely outside it (CPython, NumPy,
# libgomp).  Passes when the tests pass and fastnn's count is 0.
#
#   tools/valgrind.sh                                    # kernel tests (the default set)
#   tools/valgrind.sh tests/test_properties.py -k conv   # other tests (repository paths)
#
# Works from a clean clone, like tools/sanitize.sh (own copy, build and venv under
# VALGRIND_DIR, default build/valgrind).  Notes: valgrind hides AVX-512 from CPUID, so the
# AVX2 and generic GEMM paths run here (tools/sanitize.sh covers AVX-512);
# PYTHONMALLOC=malloc lets memcheck see Python's allocations; leak checking is off
# (fastnn's C code allocates nothing; tests/test_stability.py watches Python memory).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${VALGRIND_DIR:-$REPO/build/valgrind}"
PYTHON="${PYTHON:-python3}"
SRC="$WORK/src"
VENV="$WORK/venv"
LOGS="$WORK/logs"
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 2; }

echo "== fastnn under valgrind memcheck in $WORK"
rm -rf "$SRC" "$LOGS"
mkdir -p "$SRC" "$LOGS"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
        grep -zv '^build/' | xargs -0 cp --parents -t "$SRC")
else
    (cd "$REPO" && tar --exclude=./build --exclude='*.so' --exclude=./.git -cf - .) |
        (cd "$SRC" && tar -xf -)
fi
find "$SRC" -name '*.so' -delete
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/python" - <<'PY' || "$VENV/bin/python" -m pip install -q "Cython>=3.0" "numpy>=1.23" setuptools wheel "pytest>=7" "hypothesis>=6"
import Cython, numpy, setuptools, wheel, pytest, hypothesis  # noqa: F401
PY
(cd "$SRC" && env -u FASTNN_SANITIZE "$VENV/bin/python" -m pip install -q \
    --no-build-isolation --no-deps --force-reinstall .)

TESTS=()
for arg in "$@"; do  # test paths are the repository's: run the copy's
    if [[ "$arg" == tests* ]]; then TESTS+=("$SRC/$arg"); else TESTS+=("$arg"); fi
done
if [ ${#TESTS[@]} -eq 0 ]; then
    TESTS=("$SRC/tests/test_kernels.py" "$SRC/tests/test_bad_calls.py" "$SRC/tests/test_gemm_isa.py")
fi
cd "$WORK"
set +e
PYTHONMALLOC=malloc OMP_WAIT_POLICY=passive valgrind --tool=memcheck --leak-check=no \
    --num-callers=40 --log-file="$LOGS/memcheck.%p.log" ${VALGRIND_ARGS:-} \
    "$VENV/bin/python" -m pytest -p no:cacheprovider -q "${TESTS[@]}"
status=$?

"$VENV/bin/python" - "$LOGS" <<'PY'
import glob, re, sys
ours = elsewhere = 0
kinds = {}
for path in glob.glob(sys.argv[1] + "/memcheck.*.log"):
    text = open(path).read()
    for line in re.findall(r"ERROR SUMMARY: .*", text):
        print(f"{path.rsplit('/', 1)[1]}: {line}")
    # an error is a block starting with "==pid== <description>" followed by "at"/"by" frames
    for block in re.split(r"\n==\d+== \n", text):
        lines = [l.split("== ", 1)[-1] for l in block.splitlines()]
        frames = [l for l in lines if l.lstrip().startswith(("at 0x", "by 0x"))]
        if not frames or not lines:
            continue
        head = next(l for l in lines if l.strip() and not l.lstrip().startswith(("at 0x", "by 0x")))
        if "Memcheck" in head or "Copyright" in head or "Command" in head:
            continue
        mine = any(re.search(r"_C\.cpython|fnn_|/csrc/", f) for f in frames)
        ours += mine
        elsewhere += not mine
        kinds[head.strip()] = kinds.get(head.strip(), 0) + 1
print(f"== memcheck errors with a frame in fastnn's code: {ours}")
print(f"== memcheck errors entirely outside fastnn (CPython, NumPy, libgomp): {elsewhere}")
for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:10]:
    print(f"   {v:5d}  {k}")
sys.exit(1 if ours else 0)
PY
verdict=$?
set -e
[ $status -eq 0 ] || { echo "== tests failed under valgrind (pytest exit $status)"; exit $status; }
exit $verdict
