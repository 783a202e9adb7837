"""Keras-compatible layers: `from fastnn.layers import Dense, Conv2D, ...`."""
from fastnn.layers.activation import Activation
from fastnn.layers.conv2d import Conv2D
from fastnn.layers.dense import Dense
from fastnn.layers.dropout import Dropout
from fastnn.layers.input_layer import Input, InputLayer
from fastnn.layers.layer import KerasTensor, Layer, Variable
from fastnn.layers.merging import Add, Concatenate
from fastnn.layers.pooling import MaxPooling2D
from fastnn.layers.reshaping import Flatten

Convolution2D = Conv2D
MaxPool2D = MaxPooling2D

__all__ = ["Activation", "Add", "Concatenate", "Conv2D", "Convolution2D", "Dense", "Dropout",
           "Flatten", "Input", "InputLayer", "KerasTensor", "Layer", "MaxPool2D",
           "MaxPooling2D", "Variable"]
