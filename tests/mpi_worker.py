"""A small training job that tests/test_distributed.py runs under mpirun (and alone).

    python tests/mpi_worker.py SCENARIO OUTDIR [--batch B] [--no-init]

Every rank writes OUTDIR/rank<r>.npz with what it ended with, so the test can compare
ranks with each other and with one process trained at batch N * B.  Scenarios:
  train  fit (shuffled, sample weights, validation data, a last global batch smaller
         than the job), evaluate, predict and train_on_batch
  stop   rank 1's callback asks to stop in the middle of epoch 2; every rank must stop
  fail   rank 1 raises in epoch 2; the job must end with an error, not hang
  crash  rank 1 dies (os._exit) in epoch 2; the job must end, not hang
  backup fit 4 epochs with ModelCheckpoint, CSVLogger and BackupAndRestore (a backup
         folder per rank: only rank 0 writes, as on node-local disks); with
         --interrupt-at E every rank fails at the start of epoch E, and a rerun resumes
"""
import argparse
import os
import sys

import numpy as np

import fastnn
import fastnn.distributed as dist
from fastnn.callbacks import (BackupAndRestore, Callback, CSVLogger, EarlyStopping,
                              ModelCheckpoint)
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from fastnn.models import Sequential
from fastnn.utils import set_random_seed, to_categorical


def dataset(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 6, 1)).astype(np.float32)
    labels = (x[:, :3, :, 0].sum(axis=(1, 2)) > 0).astype(int) + \
        (x[:, 3:, :3, 0].sum(axis=(1, 2)) > 0)
    return x, to_categorical(labels, 3)


def rnn_model():
    """Embedding(mask_zero=True) -> LSTM (dropout, sequences) -> GRU -> Dense: the
    sequence layers' gradients, masks and dropout streams under data parallelism."""
    from fastnn.layers import GRU, LSTM, Embedding
    m = Sequential([Input((12,)), Embedding(13, 4, mask_zero=True),
                    LSTM(5, dropout=0.2, return_sequences=True), GRU(4),
                    Dense(3, activation="softmax")])
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return m


def tokens(x):
    """The images as 12 token ids in [0, 13) (0 is padding, masked)."""
    ids = np.clip(np.floor((x.reshape(len(x), -1)[:, :12] + 2) * 3), 0, 12)
    ids[::3, 8:] = 0
    return ids.astype(np.float32)


def model(bn=False, sync=False):
    from fastnn.layers import BatchNormalization
    m = Sequential([Input((6, 6, 1)), Conv2D(4, 3, activation="relu")] +
                   ([BatchNormalization(synchronized=sync)] if bn or sync else []) +
                   [MaxPooling2D(2), Flatten(), Dropout(0.3), Dense(3, activation="softmax")])
    m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return m


class Steps(Callback):
    """Counts training steps; in `stop`, rank 1 alone asks to stop in epoch 2."""

    def __init__(self, scenario):
        self.scenario, self.steps = scenario, 0

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1 and dist.rank() == 1 and self.scenario == "fail":
            raise RuntimeError("rank 1 failed on purpose")
        if epoch == 1 and dist.rank() == 1 and self.scenario == "crash":
            os._exit(3)

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.scenario == "stop" and dist.rank() == 1 and self.steps == 5:
            self.model.stop_training = True


class Interrupt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError(f"interrupted at epoch {epoch + 1}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["train", "stop", "fail", "crash", "backup"])
    ap.add_argument("outdir")
    ap.add_argument("--batch", type=int, default=16, help="per-rank batch size")
    ap.add_argument("--no-init", action="store_true")
    ap.add_argument("--interrupt-at", type=int, default=None)
    ap.add_argument("--bn", action="store_true", help="a BatchNormalization layer in the model")
    ap.add_argument("--sync-bn", action="store_true", help="the same, synchronized=True")
    ap.add_argument("--rnn", action="store_true",
                    help="Embedding -> LSTM -> GRU on the images as token ids")
    args = ap.parse_args()
    if not args.no_init:
        dist.init()
    set_random_seed(5)
    x, y = dataset(97 + 31 + 33, seed=1)
    xt, yt, xv, yv, xe, ye = x[:97], y[:97], x[97:128], y[97:128], x[128:], y[128:]
    sw = np.random.default_rng(2).uniform(0.5, 1.5, size=97).astype(np.float32)
    if args.rnn:
        x = tokens(x)
        xt, xv, xe = x[:97], x[97:128], x[128:]
    m = rnn_model() if args.rnn else model(args.bn, args.sync_bn)
    steps = Steps(args.scenario)
    callbacks = [steps, EarlyStopping(monitor="val_loss", patience=10)]
    epochs, saves = 3, []
    if args.scenario == "backup":
        epochs = 4
        save_weights = m.save_weights
        m.save_weights = lambda *a, **k: (saves.append(a[0]), save_weights(*a, **k))
        callbacks += [
            BackupAndRestore(os.path.join(args.outdir, f"backup-rank{dist.rank()}")),
            ModelCheckpoint(os.path.join(args.outdir, "ck-{epoch:02d}.weights.h5"),
                            save_weights_only=True, verbose=1),
            CSVLogger(os.path.join(args.outdir, "log.csv"), append=True),
            Interrupt(args.interrupt_at)]
    history = m.fit(xt, yt, batch_size=args.batch, epochs=epochs, sample_weight=sw, verbose=0,
                    validation_data=(xv, yv), callbacks=callbacks)
    out = {"steps": steps.steps, "size": dist.size(), "threads": fastnn.get_num_threads(),
           "saves": len(saves)}
    for key, values in history.history.items():
        out["history_" + key] = np.array(values)
    if args.scenario == "train":
        out["evaluate"] = np.array(m.evaluate(xe, ye, batch_size=5, verbose=0))
        out["predict"] = m.predict(xe, verbose=0)
        # train_on_batch: each rank brings its part of the same global batch
        g = args.batch * dist.size()
        lo, hi = dist.rank() * g // dist.size(), (dist.rank() + 1) * g // dist.size()
        out["train_on_batch"] = np.array(m.train_on_batch(xt[lo:hi], yt[lo:hi]))
    out["weights"] = np.concatenate([w.reshape(-1) for w in m.get_weights()])
    out["optimizer_m"] = m.optimizer.variables()[2]
    np.savez(os.path.join(args.outdir, f"rank{dist.rank()}.npz"), **out)
    print(f"rank {dist.rank()} of {dist.size()}: done", file=sys.stderr)


if __name__ == "__main__":
    main()
