"""Same accuracy as Keras after the same epochs: Fashion-MNIST rows as 28-step sequences
(the Keras RNN guide's setup, with Fashion-MNIST, which is always available offline).

    nice -n 10 python benchmarks/accuracy_rnn.py [--cells lstm,gru] [--seeds 3]
        [--epochs 3] [--train 10000] [--keras /work/tfvenv/bin/python]

Each run: Input((28, 28)) -> LSTM(64) or GRU(64) -> Dense(10, softmax), Adam (Keras's
defaults), sparse categorical cross-entropy, batch 64, --epochs epochs on the first
--train training images, then test accuracy on the 10,000 test images.  fastnn and Keras
(TensorFlow, its own process) get the same arrays; run i uses seed i in each framework
(the initial weights differ between frameworks, so compare means, not single runs).
Prints one Markdown row per run and the mean (standard error) per framework and cell.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def train(framework, cell, seed, epochs, path):
    d = np.load(path)
    if framework == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
        from keras import layers
    else:
        sys.path.insert(0, os.path.dirname(HERE))
        import fastnn.keras as keras
        from fastnn.keras import layers
    keras.utils.set_random_seed(seed)
    rnn = {"lstm": layers.LSTM, "gru": layers.GRU}[cell]
    model = keras.Sequential([keras.Input((28, 28)), rnn(64),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    model.fit(d["x"], d["y"], batch_size=64, epochs=epochs, verbose=0)
    seconds = (time.perf_counter() - t0) / epochs
    loss, acc = model.evaluate(d["xt"], d["yt"], batch_size=256, verbose=0)
    return {"acc": float(acc), "loss": float(loss), "s_per_epoch": seconds}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cells", default="lstm,gru")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--train", type=int, default=10000)
    p.add_argument("--keras", default="/work/tfvenv/bin/python")
    p.add_argument("--child", nargs=5, metavar=("FRAMEWORK", "CELL", "SEED", "EPOCHS", "DATA"))
    args = p.parse_args()
    if args.child:
        fw, cell, seed, epochs, path = args.child
        print(json.dumps(train(fw, cell, int(seed), int(epochs), path)))
        return
    sys.path.insert(0, os.path.dirname(HERE))
    from fastnn.datasets import fashion_mnist
    (x, y), (xt, yt) = fashion_mnist.load_data()
    path = os.path.join(tempfile.mkdtemp(), "fmnist_rows.npz")
    np.savez(path, x=(x[:args.train] / 255).astype(np.float32), y=y[:args.train],
             xt=(xt / 255).astype(np.float32), yt=yt)
    print(f"# Fashion-MNIST rows as sequences: {min(args.train, len(x))} training images, "
          f"{len(xt)} test images, {args.epochs} epochs, batch 64, Adam")
    print("| cell | framework | seed | test accuracy | test loss | s/epoch |")
    print("|---|---|---:|---:|---:|---:|")
    results = {}
    pythons = {"fastnn": sys.executable, "keras": args.keras}
    for cell in args.cells.split(","):
        for seed in range(args.seeds):
            for fw in ("fastnn", "keras"):
                if not os.path.exists(pythons[fw]):
                    continue
                res = subprocess.run([pythons[fw], os.path.abspath(__file__), "--child", fw,
                                      cell, str(seed), str(args.epochs), path],
                                     capture_output=True, text=True,
                                     env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
                line = [s for s in res.stdout.splitlines() if s.startswith("{")]
                if not line:
                    print(f"| {cell} | {fw} | {seed} | failed: "
                          f"{(res.stderr.strip().splitlines() or ['?'])[-1][:80]} | | |")
                    continue
                r = json.loads(line[-1])
                results.setdefault((cell, fw), []).append(r["acc"])
                print(f"| {cell} | {fw} | {seed} | {r['acc']:.4f} | {r['loss']:.4f} | "
                      f"{r['s_per_epoch']:.1f} |", flush=True)
    print("\n| cell | framework | runs | mean test accuracy (s.e.) |")
    print("|---|---|---:|---:|")
    for (cell, fw), accs in results.items():
        se = np.std(accs, ddof=1) / np.sqrt(len(accs)) if len(accs) > 1 else float("nan")
        print(f"| {cell} | {fw} | {len(accs)} | {np.mean(accs):.4f} ({se:.4f}) |")


if __name__ == "__main__":
    main()
