"""Training speed of sequence models: fastnn vs PyTorch and Keras on TensorFlow, each in
its own process, timed in the same run on the same random data.

    python benchmarks/bench_rnn.py [--models lstm,gru] [--seqs 50,200,800] [--steps 8]
                                   [--threads 2] [--torch PYTHON] [--keras PYTHON]

Models (batch 64):
  lstm    Embedding(20000, 128) -> LSTM(64) -> Dense(1, sigmoid), binary cross-entropy, Adam
  gru     the same with GRU(64) (Keras's reset_after=True; PyTorch's GRU is the same cell)
  bilstm  Embedding(20000, 128) -> Bidirectional(LSTM(64, return_sequences=True))
          -> Bidirectional(LSTM(64)) -> Dense(1)        (when fastnn has Bidirectional)
  conv1d  a univariate series (T, 1) -> Conv1D(64, 3, relu) x 2 -> GlobalAveragePooling1D
          -> Dense(2, softmax)                          (when fastnn has Conv1D)
A framework's time is the fastest of 3 runs of --steps training steps after a warm-up
(noise on a shared machine only adds time).  PyTorch runs with torch.set_num_threads and
Keras with TF's intra-op threads set to --threads.  ms/step; ratio = peer / fastnn.

Arithmetic: "GFLOP/step" counts the GEMM work of one training step (forward, backward
data, backward weights; see flops_per_step), "% peak" is fastnn's GFLOP/s against the fp32
FMA peak measured on this machine at --threads (fastnn._C.gemm_peak_flops, as
bench_cnn.py), and "target needs" is the % of peak fastnn would need to meet the issue's
targets in this run (LSTM/GRU: 2x PyTorch and 5x Keras, the stricter one; Conv1D: 3x
Keras): above 100% a target is arithmetically impossible on this machine whatever the
code does, as those FLOPs must be done.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB, EMBED, UNITS, BATCH = 20000, 128, 64, 64


TARGETS = {"lstm": {"torch": 2.0, "keras": 5.0}, "gru": {"torch": 2.0, "keras": 5.0},
           "bilstm": {}, "conv1d": {"keras": 3.0}}


def flops_per_step(model, T):
    """GEMM FLOPs of one training step of batch BATCH (the gate nonlinearities, Embedding,
    Dense(1) and the optimizer are O(N T U) or smaller and left out).  A recurrent layer
    with G gates, input width K and U units does, per step and sample, 2 G U (K + U) FLOPs
    forward (input projection + recurrent product) and twice that backward (dx and dW for
    the input projection, dh and dR for the recurrent one)."""
    def rnn(G, K, U):
        return 3 * 2 * BATCH * T * G * U * (K + U)
    if model == "lstm":
        return rnn(4, EMBED, UNITS)
    if model == "gru":
        return rnn(3, EMBED, UNITS)
    if model == "bilstm":
        return 2 * rnn(4, EMBED, UNITS) + 2 * rnn(4, 2 * UNITS, UNITS)
    if model == "conv1d":  # Conv1D(64, 3) on (T, 1) (no input gradient), then 64 -> 64
        first = 2 * BATCH * (T - 2) * 3 * 1 * 64
        second = 2 * BATCH * (T - 4) * 3 * 64 * 64
        return 2 * first + 3 * second
    raise ValueError(model)


def measured_peak(threads):
    """The fp32 FMA peak in GFLOP/s on `threads` threads (best of 3), fastnn's probe."""
    sys.path.insert(0, os.path.dirname(HERE))
    import fastnn
    from fastnn import _C
    fastnn.set_num_threads(threads)
    _C.gemm_peak_flops(10 ** 6, threads)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        fl = _C.gemm_peak_flops(2 * 10 ** 7, threads)
        best = max(best, fl / (time.perf_counter() - t0) / 1e9)
    return best


def data(model, T, steps):
    rng = np.random.default_rng(0)
    n = BATCH * steps
    if model == "conv1d":
        x = rng.standard_normal((n, T, 1)).astype(np.float32)
        return x, rng.integers(0, 2, n).astype(np.int64)
    return rng.integers(1, VOCAB, (n, T)).astype(np.int32), rng.integers(0, 2, n).astype(np.float32)


def best_of(run_steps, rounds=3):
    run_steps(2)  # warm-up: buffers, packing, thread pools
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        n = run_steps(None)
        best = min(best, (time.perf_counter() - t0) / n)
    return best


# ---- each framework (runs inside its own process) -----------------------------------

def run_fastnn(model, T, steps, threads):
    sys.path.insert(0, os.path.dirname(HERE))
    import fastnn
    from fastnn import layers as L
    from fastnn.models import Sequential
    fastnn.set_num_threads(threads)
    if model == "conv1d":
        net = Sequential([L.Input((T, 1)), L.Conv1D(64, 3, activation="relu"),
                          L.Conv1D(64, 3, activation="relu"), L.GlobalAveragePooling1D(),
                          L.Dense(2, activation="softmax")])
        net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    else:
        rnn = {"lstm": lambda **k: L.LSTM(UNITS, **k), "gru": lambda **k: L.GRU(UNITS, **k),
               "bilstm": None}[model]
        body = [L.Bidirectional(L.LSTM(UNITS, return_sequences=True)),
                L.Bidirectional(L.LSTM(UNITS))] if model == "bilstm" else [rnn()]
        net = Sequential([L.Input((T,)), L.Embedding(VOCAB, EMBED)] + body +
                         [L.Dense(1, activation="sigmoid")])
        net.compile(optimizer="adam", loss="binary_crossentropy")
    x, y = data(model, T, steps)

    def run(n):
        n = n or steps
        net.fit(x[:n * BATCH], y[:n * BATCH], batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
        return n
    return best_of(run)


def run_torch(model, T, steps, threads):
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            if model == "conv1d":
                self.c1, self.c2 = nn.Conv1d(1, 64, 3), nn.Conv1d(64, 64, 3)
                self.out = nn.Linear(64, 2)
                return
            self.emb = nn.Embedding(VOCAB, EMBED)
            if model == "bilstm":
                self.r1 = nn.LSTM(EMBED, UNITS, batch_first=True, bidirectional=True)
                self.r2 = nn.LSTM(2 * UNITS, UNITS, batch_first=True, bidirectional=True)
                self.out = nn.Linear(2 * UNITS, 1)
            else:
                self.r1 = (nn.LSTM if model == "lstm" else nn.GRU)(EMBED, UNITS, batch_first=True)
                self.out = nn.Linear(UNITS, 1)

        def forward(self, x):
            if model == "conv1d":
                h = torch.relu(self.c2(torch.relu(self.c1(x.transpose(1, 2)))))
                return self.out(h.mean(2))
            h, _ = self.r1(self.emb(x))
            if model == "bilstm":
                h, _ = self.r2(h)
                h = torch.cat([h[:, -1, :UNITS], h[:, 0, UNITS:]], 1)
            else:
                h = h[:, -1]
            return self.out(h).squeeze(1)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss() if model == "conv1d" else nn.BCEWithLogitsLoss()
    x, y = data(model, T, steps)
    xt = torch.from_numpy(x if model == "conv1d" else x.astype(np.int64))
    yt = torch.from_numpy(y)

    def run(n):
        n = n or steps
        for i in range(n):
            sl = slice(i * BATCH, (i + 1) * BATCH)
            opt.zero_grad()
            loss = loss_fn(net(xt[sl]), yt[sl])
            loss.backward()
            opt.step()
        return n
    return best_of(run)


def run_keras(model, T, steps, threads):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras
    from keras import layers as L
    if model == "conv1d":
        net = keras.Sequential([keras.Input((T, 1)), L.Conv1D(64, 3, activation="relu"),
                                L.Conv1D(64, 3, activation="relu"), L.GlobalAveragePooling1D(),
                                L.Dense(2, activation="softmax")])
        net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    else:
        body = [L.Bidirectional(L.LSTM(UNITS, return_sequences=True)),
                L.Bidirectional(L.LSTM(UNITS))] if model == "bilstm" else \
            [(L.LSTM if model == "lstm" else L.GRU)(UNITS)]
        net = keras.Sequential([keras.Input((T,), dtype="int32"), L.Embedding(VOCAB, EMBED)] +
                               body + [L.Dense(1, activation="sigmoid")])
        net.compile(optimizer="adam", loss="binary_crossentropy")
    x, y = data(model, T, steps)

    def run(n):
        n = n or steps
        net.fit(x[:n * BATCH], y[:n * BATCH], batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
        return n
    return best_of(run)


RUNNERS = {"fastnn": run_fastnn, "torch": run_torch, "keras": run_keras}


def child(args):
    seconds = RUNNERS[args.child](args.model, args.seq, args.steps, args.threads)
    print(json.dumps({"ms": seconds * 1e3}))


def measure(python, framework, model, T, args):
    cmd = [python, os.path.abspath(__file__), "--child", framework, "--model", model,
           "--seq", str(T), "--steps", str(args.steps), "--threads", str(args.threads)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", OMP_NUM_THREADS=str(args.threads))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in res.stdout.splitlines()[::-1]:
        if line.startswith("{"):
            return json.loads(line)["ms"]
    tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
    return f"failed: {tail[:70]}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="lstm,gru,bilstm,conv1d")
    p.add_argument("--seqs", default="50,200,800")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--torch", default="/work/torchvenv/bin/python")
    p.add_argument("--keras", default="/work/tfvenv/bin/python")
    p.add_argument("--child", choices=list(RUNNERS))
    p.add_argument("--model", default="lstm")
    p.add_argument("--seq", type=int, default=200)
    args = p.parse_args()
    if args.child:
        return child(args)
    pythons = {"fastnn": sys.executable, "torch": args.torch, "keras": args.keras}
    peers = [f for f in ("torch", "keras") if os.path.exists(pythons[f])]
    peak = measured_peak(args.threads)
    print(f"# bench_rnn: batch {BATCH}, {args.threads} threads, best of 3 x {args.steps} steps; "
          f"ms per training step (shared machine: compare ratios within one run); measured "
          f"fp32 FMA peak {peak:.0f} GFLOP/s")
    head = f"| model | T | GFLOP/step | fastnn ms | fastnn % peak |" + \
        "".join(f" {f} ms | {f}/fastnn |" for f in peers) + " target needs |"
    print(head)
    print("|" + "---|" * (6 + 2 * len(peers)))
    for model in args.models.split(","):
        for T in (int(t) for t in args.seqs.split(",")):
            fl = flops_per_step(model, T)
            ours = measure(pythons["fastnn"], "fastnn", model, T, args)
            share = f"{100 * fl / (ours / 1e3) / 1e9 / peak:.0f}%" \
                if isinstance(ours, float) else "-"
            row = f"| {model} | {T} | {fl / 1e9:.2f} | " + \
                (f"{ours:.1f}" if isinstance(ours, float) else ours) + f" | {share} |"
            needed = []  # the ms/step each target allows
            for f in peers:
                theirs = measure(pythons[f], f, model, T, args)
                if isinstance(theirs, float):
                    ratio = f"{theirs / ours:.2f}x" if isinstance(ours, float) else "-"
                    row += f" {theirs:.1f} | {ratio} |"
                    if f in TARGETS.get(model, {}):
                        needed.append(theirs / TARGETS[model][f])
                else:
                    row += f" {theirs} | - |"
            if needed:
                row += f" {100 * fl / (min(needed) / 1e3) / 1e9 / peak:.0f}% |"
            else:
                row += " - |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
