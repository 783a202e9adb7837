# Corpus program, written after: https://keras.io/guides/understanding_masking_and_padding/
#   (keras-io guides/understanding_masking_and_padding.py, "Understanding masking &
#   padding", written with keras.ops in place of its tf.* calls: pad_sequences,
#   Embedding(mask_zero=True) and Masking
#   as mask producers, `_keras_mask`, passing `mask=` to an LSTM by hand, custom layers
#   with compute_mask (TemporalSplit, CustomEmbedding), supports_masking (MyActivation)
#   and a mask consumer (TemporalSoftmax), Apache-2.0)
# Same Keras calls in the same order; no data to download.  Added: a short fit of the
# masked LSTM model and a last line printing the output's shape; changed: the last model
# call without the guide's second argument, which Keras 3.15 refuses.
import numpy as np
import keras
from keras import ops
from keras import layers

raw_inputs = [
    [711, 632, 71],
    [73, 8, 3215, 55, 927],
    [83, 91, 1, 645, 1253, 927],
]

# Pads with 0s by default ("value" changes that); "pre" or "post" padding.
padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
print(padded_inputs)

# Mask producers: Embedding(mask_zero=True) and Masking attach a mask to their output.
embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
masked_output = embedding(padded_inputs)

print(masked_output._keras_mask)

masking_layer = layers.Masking()
# Stand-in for an embedding lookup: the 2-D input repeated along a new axis of 10.
unmasked_embedding = ops.cast(
    ops.tile(ops.expand_dims(padded_inputs, axis=-1), [1, 1, 10]), "float32"
)

masked_embedding = masking_layer(unmasked_embedding)
print(masked_embedding._keras_mask)

# In Sequential and Functional models the mask reaches the LSTM by itself.
model = keras.Sequential(
    [
        layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True),
        layers.LSTM(32),
    ]
)

inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
outputs = layers.LSTM(32)(x)

model = keras.Model(inputs, outputs)

# (added) the masked model trains; shrunk to 64 padded sequences and one epoch.
rng = np.random.default_rng(0)
sequences = [list(rng.integers(1, 5000, size=rng.integers(2, 12))) for _ in range(64)]
model.compile(optimizer="adam", loss="mse")
model.fit(keras.utils.pad_sequences(sequences, padding="post"), rng.normal(size=(64, 32)),
          epochs=1, batch_size=16)


# Passing a mask by hand: compute_mask of a mask producer, `mask=` of a consumer.
class MyLayer(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
        self.lstm = layers.LSTM(32)

    def call(self, inputs):
        x = self.embedding(inputs)
        # Any boolean tensor of shape (batch_size, timesteps) would do as a mask.
        mask = self.embedding.compute_mask(inputs)
        output = self.lstm(x, mask=mask)  # The LSTM skips the masked steps
        return output


layer = MyLayer()
x = np.random.random((32, 10)) * 100
x = x.astype("int32")
layer(x)


# A layer that changes the time axis changes the mask with it.
class TemporalSplit(keras.layers.Layer):
    """Splits the input in 2 along the time axis."""

    def call(self, inputs):
        # A 3-D input, a 2-D mask: both split along axis 1.
        return ops.split(inputs, 2, axis=1)

    def compute_mask(self, inputs, mask=None):
        # Split the mask too, when there is one.
        if mask is None:
            return None
        return ops.split(mask, 2, axis=1)


first_half, second_half = TemporalSplit()(masked_embedding)
print(first_half._keras_mask)
print(second_half._keras_mask)


# A layer that makes a mask from its input values.
class CustomEmbedding(keras.layers.Layer):
    def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.mask_zero = mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            initializer="random_normal",
            dtype="float32",
        )

    def call(self, inputs):
        inputs = ops.cast(inputs, "int32")
        return ops.take(self.embeddings, inputs)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)


layer = CustomEmbedding(10, 32, mask_zero=True)
x = np.random.random((3, 10)) * 9
x = x.astype("int32")

y = layer(x)
mask = layer.compute_mask(x)

print(mask)


# Opting in to mask propagation: supports_masking passes the mask through unchanged.
class MyActivation(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Safe for mask propagation
        self.supports_masking = True

    def call(self, inputs):
        return ops.relu(inputs)


inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
x = MyActivation()(x)  # Passes the mask along
print("Mask found:", x._keras_mask)
outputs = layers.LSTM(32)(x)  # Receives the mask

model = keras.Model(inputs, outputs)


# A mask consumer: `mask=None` in call receives the input's mask.
class TemporalSoftmax(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        assert mask is not None
        broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
        inputs_exp = ops.exp(inputs) * broadcast_float_mask
        inputs_sum = ops.sum(
            inputs_exp * broadcast_float_mask, axis=-1, keepdims=True
        )
        return inputs_exp / inputs_sum


inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
x = layers.Dense(1)(x)
outputs = TemporalSoftmax()(x)

model = keras.Model(inputs, outputs)
# (the guide also passes np.random.random((32, 100, 1)) as a second argument, which Keras
# 3.15 refuses: "Functional.call() got multiple values for argument 'training'")
y = model(np.random.randint(0, 10, size=(32, 100)))
print("Output shape:", tuple(y.shape))
