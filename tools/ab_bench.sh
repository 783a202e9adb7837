#!/usr/bin/env bash
# A/B speed check of the C kernels: a base git ref against the current tree, in one run.
#
#   tools/ab_bench.sh [--quick] [--rounds N] <base-ref>
#   flock /tmp/fastnn-bench.lock tools/ab_bench.sh main       # on a shared machine
#
# Builds <base-ref> in a temporary tree of its own (git archive of the commit, kept in
# $AB_CACHE/<sha>, default /tmp/fastnn-ab, and reused by later runs against the same
# commit) and the current tree in place (its working files, uncommitted changes
# included; setup.py rebuilds only what changed), then runs benchmarks/bench_gemm.py,
# bench_kernels.py and bench_train.py (steps, no peers) against each build in turn,
# base first, switching builds by PYTHONPATH; with --rounds N (default 1) every pair
# runs N times, alternating.  Both builds run the CURRENT tree's benchmark scripts, so
# the two columns time the same thing.  Prints each run's table, then one side-by-side
# table per benchmark: each row's fastnn figure for base and current and current/base
# (the best of the rounds for each side; > 1.00x means current is faster).
#
# --quick: bench_gemm --quick, bench_train with fewer steps and rounds (about 5 minutes
# on 2 cores; the full run about 9), plus the builds.
# Timings on a shared machine are guidance only: run under the benchmark lock and
# prefer instruction counts (tools/valgrind.sh / callgrind) for small differences.
set -euo pipefail

QUICK=0 ROUNDS=1 BASE=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --rounds) ROUNDS="$2"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "ab_bench.sh: unknown option $1" >&2; exit 2 ;;
    *) BASE="$1" ;;
    esac
    shift
done
[ -n "$BASE" ] || { echo "usage: tools/ab_bench.sh [--quick] [--rounds N] <base-ref>" >&2; exit 2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
BASE_SHA="$(git -C "$REPO" rev-parse --verify "$BASE^{commit}")"
CACHE="${AB_CACHE:-/tmp/fastnn-ab}"
BASE_TREE="$CACHE/$BASE_SHA"
TMP="$(mktemp -d /tmp/fastnn-ab-run.XXXXXX)"
OUT="$TMP/out"
mkdir -p "$OUT" "$CACHE"
trap 'rm -rf "$TMP"' EXIT

echo "== A/B: base $BASE ($BASE_SHA) against the current tree $REPO"
if ! ls "$BASE_TREE"/fastnn/_C*.so >/dev/null 2>&1; then
    rm -rf "$BASE_TREE"
    mkdir -p "$BASE_TREE"
    git -C "$REPO" archive "$BASE_SHA" | tar -x -C "$BASE_TREE"
fi
build() {
    echo "== building $1"
    (cd "$1" && "$PYTHON" setup.py build_ext --inplace -j 2 >"$OUT/build-$2.log" 2>&1) ||
        { tail -30 "$OUT/build-$2.log" >&2; exit 1; }
}
build "$BASE_TREE" base
build "$REPO" current

if [ "$QUICK" = 1 ]; then
    GEMM_ARGS=(--quick --rounds 2)
    TRAIN_ARGS=(--no-peers --steps 20 --rounds 2 --numpy-steps 1)
else
    GEMM_ARGS=()
    TRAIN_ARGS=(--no-peers --steps 60 --rounds 3 --numpy-steps 2)
fi
KERNEL_ARGS=()

run() { # run <bench> <side> <round> args...
    local bench="$1" side="$2" round="$3"; shift 3
    local tree="$REPO"; [ "$side" = base ] && tree="$BASE_TREE"
    local file="$OUT/$bench.$side.$round.md"
    echo
    echo "== $bench, $side build (round $round)"
    # run from outside both trees so `import fastnn` is the PYTHONPATH one
    (cd "$TMP" && PYTHONPATH="$tree" "$PYTHON" "$REPO/benchmarks/$bench.py" "$@") | tee "$file"
}

for bench in bench_gemm bench_kernels bench_train; do
    case "$bench" in
    bench_gemm) args=("${GEMM_ARGS[@]}") ;;
    bench_kernels) args=("${KERNEL_ARGS[@]}") ;;
    bench_train) args=("${TRAIN_ARGS[@]}") ;;
    esac
    for r in $(seq 1 "$ROUNDS"); do
        run "$bench" base "$r" ${args[@]+"${args[@]}"}
        run "$bench" current "$r" ${args[@]+"${args[@]}"}
    done
done

echo
echo "== side by side: base $BASE (${BASE_SHA:0:10}) vs current tree (best of $ROUNDS round(s) each)"
"$PYTHON" - "$OUT" <<'EOF'
import glob, os, sys

out = sys.argv[1]
# benchmark -> (figure column, higher is better)
FIGURE = {"bench_gemm": ("fastnn GFLOP/s", True), "bench_kernels": ("fastnn ms", False),
          "bench_train": ("ms/step", False)}


def tables(path):
    """Every markdown table in the file: (header cells, [row cells])."""
    found, cur = [], None
    for line in open(path):
        line = line.strip()
        if not line.startswith("|"):
            cur = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cur is None:
            cur = (cells, [])
            found.append(cur)
        elif not all(set(c) <= set("-:") for c in cells):
            cur[1].append(cells)
    return found


def number(cell):
    try:
        return float(cell.split()[0].rstrip("x%"))
    except (ValueError, IndexError):
        return None


for bench, (col, higher) in FIGURE.items():
    sides = {}
    for side in ("base", "current"):
        best = {}
        order = []
        for path in sorted(glob.glob(os.path.join(out, f"{bench}.{side}.*.md"))):
            for head, rows in tables(path):
                if col not in head:
                    continue
                i = head.index(col)
                keys = [j for j, h in enumerate(head) if j != i and (
                    "shape" in h or h in ("what", "threads", "kernel", "framework"))] or [0]
                for row in rows:
                    if len(row) != len(head):
                        continue
                    key = " | ".join(row[j] for j in keys)
                    v = number(row[i])
                    if v is None:
                        continue
                    if key not in best:
                        order.append(key)
                        best[key] = v
                    else:
                        best[key] = max(best[key], v) if higher else min(best[key], v)
        sides[side] = (order, best)
    order, base = sides["base"]
    cur = sides["current"][1]
    print(f"\n{bench}: {col} ({'higher' if higher else 'lower'} is better)\n")
    print(f"| row | base | current | current vs base |")
    print("|---|---:|---:|---:|")
    for key in order + [k for k in sides["current"][0] if k not in base]:
        b, c = base.get(key), cur.get(key)
        ratio = "-" if not b or not c else f"{(c / b if higher else b / c):.2f}x"
        fmt = lambda v: "-" if v is None else f"{v:g}"
        print(f"| {key} | {fmt(b)} | {fmt(c)} | {ratio} |")
EOF
