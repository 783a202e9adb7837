"""The seed CNN on Fashion-MNIST (default) or MNIST, with early stopping, Keras style.

    python examples/mnist_cnn.py [--dataset fashion_mnist|mnist] [--epochs 30]
                                 [--limit N] [--batch-size 128] [--plot history.png]
                                 [--save cnn.keras] [--backup DIR]
    mpirun -np 2 python examples/mnist_cnn.py      # data-parallel over 2 processes

Under mpirun, fastnn.distributed.init() makes fit and evaluate data-parallel: the
batch size is per process (a global batch of 2 x 128 with two), only rank 0 prints.

The model, compile and fit lines are the user's Keras program with only the imports
pointed at fastnn.  Fashion-MNIST is read from the first place that has it
(FASTNN_DATA, ~/.fastnn/datasets, ~/.keras/datasets, Debian's dataset-fashion-mnist
package), else downloaded, else fastnn's embedded 3,000-image subset is used.
"""
import argparse
import time

import fastnn
import fastnn.distributed as dist
from fastnn.callbacks import BackupAndRestore, EarlyStopping
from fastnn.datasets import fashion_mnist, mnist
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from fastnn.models import Sequential
from fastnn.utils import plot_history, to_categorical


def load(name, limit):
    (x_train, y_train), (x_test, y_test) = {"mnist": mnist, "fashion_mnist": fashion_mnist}[name].load_data()
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    # 28x28 uint8 images -> (n, 28, 28, 1) floats in [0, 1]; labels -> one-hot
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
    return (x_train, to_categorical(y_train, 10)), (x_test, to_categorical(y_test, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=["fashion_mnist", "mnist"], default="fashion_mnist")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    ap.add_argument("--batch-size", type=int, default=128, help="per process under mpirun")
    ap.add_argument("--plot", metavar="FILE", help="save the loss/accuracy curves (matplotlib)")
    ap.add_argument("--save", metavar="FILE.keras",
                    help="save the trained model (Keras's format: keras.models.load_model reads it)")
    ap.add_argument("--backup", metavar="DIR",
                    help="back up every epoch; rerun after a crash to resume where it stopped")
    args = ap.parse_args()
    dist.init()  # data-parallel under mpirun; nothing happens in one process
    say = print if dist.is_chief() else (lambda *a, **k: None)  # rank 0 prints
    (x_train, y_train), (x_test, y_test) = load(args.dataset, args.limit)
    say(f"{args.dataset}: {len(x_train)} training and {len(x_test)} test images")
    if dist.size() > 1:
        threads = fastnn.get_num_threads()
        say(f"data-parallel over {dist.size()} processes x {threads} thread"
            f"{'s' if threads != 1 else ''}: batch {args.batch_size} per process, "
            f"{args.batch_size * dist.size()} per step")

    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), input_shape=(28, 28, 1), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, kernel_size=(3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    model.summary(print_fn=say)
    e_s = EarlyStopping(min_delta=0.0005, patience=2)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    callbacks = [e_s] + ([BackupAndRestore(args.backup)] if args.backup else [])
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        callbacks=callbacks, validation_split=0.1)
    seconds = time.perf_counter() - start
    epochs = max(1, len(history.epoch))
    say(f"Trained {epochs} epoch{'s' if epochs != 1 else ''} in {seconds:.1f} s "
        f"({seconds / epochs:.2f} s per epoch)")
    performance = model.evaluate(x_test, y_test)
    say("The test loss is %.2f" % performance[0])
    say("The test accuracy is %.2f" % (performance[1] * 100) + "%")
    if args.save and dist.is_chief():
        model.save(args.save)
        print(f"Saved the model to {args.save}")
    if args.plot and dist.is_chief():
        plot_history(history, args.plot)
        print(f"Saved the training curves to {args.plot}")


if __name__ == "__main__":
    main()
