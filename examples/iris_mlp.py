"""The seed MLP on the Iris flowers, written both ways Keras allows: Sequential and
Functional.  The data ships inside fastnn, so this runs offline.

    python examples/iris_mlp.py [--epochs 100]
"""
import argparse

from fastnn.datasets import iris
from fastnn.layers import Dense, Input
from fastnn.models import Model, Sequential
from fastnn.utils import set_random_seed, to_categorical


def sequential_mlp():
    model = Sequential()
    model.add(Dense(32, input_shape=(4,), activation='relu'))
    model.add(Dense(32, activation='relu'))
    model.add(Dense(32, activation='relu'))
    model.add(Dense(3, activation='softmax'))  # final layer.
    return model


def functional_mlp():
    input = Input((4,))
    x = Dense(32, activation='relu')(input)
    x = Dense(32, activation='relu')(x)
    x = Dense(32, activation='relu')(x)
    output = Dense(3, activation='softmax')(x)
    return Model(inputs=[input], outputs=[output])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100)
    args = ap.parse_args()
    set_random_seed(7)
    (x_train, y_train), (x_test, y_test) = iris.load_data()
    # standardize the four measurements with the training set's statistics
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    y_train, y_test = to_categorical(y_train, 3), to_categorical(y_test, 3)
    for build in (sequential_mlp, functional_mlp):
        model = build()
        model.summary()
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=16, epochs=args.epochs, verbose=2,
                  validation_split=0.1)
        loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
        print(f"{model.name}: test loss {loss:.3f}, test accuracy {accuracy * 100:.2f}%\n")


if __name__ == "__main__":
    main()
