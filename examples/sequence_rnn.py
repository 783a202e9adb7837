"""Image rows as sequences: an LSTM (or GRU, or a Bidirectional LSTM) reads each 28x28
Fashion-MNIST image as 28 time steps of 28 pixels, as the Keras RNN guide does with MNIST.

    python examples/sequence_rnn.py [--cell lstm|gru|bilstm] [--epochs 5] [--limit N]
                                    [--batch-size 64] [--save rnn.keras]

The model, compile and fit lines are the user's Keras program with only the imports
pointed at fastnn.  Fashion-MNIST is read from the first place that has it (see
examples/mnist_cnn.py), else fastnn's embedded 3,000-image subset is used: always offline.
"""
import argparse
import time

from fastnn.datasets import fashion_mnist
from fastnn.layers import GRU, LSTM, Bidirectional, Dense, Input
from fastnn.models import Sequential


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", choices=["lstm", "gru", "bilstm"], default="lstm")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training images")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--save", metavar="FILE.keras", help="save the trained model")
    args = ap.parse_args()

    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    x_train = x_train.astype("float32") / 255  # (n, 28, 28): 28 steps of 28 features
    x_test = x_test.astype("float32") / 255

    rnn = {"lstm": lambda: LSTM(64), "gru": lambda: GRU(64),
           "bilstm": lambda: Bidirectional(LSTM(64))}[args.cell]
    model = Sequential([Input((28, 28)), rnn(), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.summary()
    t0 = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
              validation_split=0.1)
    print(f"trained in {time.perf_counter() - t0:.1f} s")
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {acc:.4f}, loss {loss:.4f}")
    if args.save:
        model.save(args.save)


if __name__ == "__main__":
    main()
