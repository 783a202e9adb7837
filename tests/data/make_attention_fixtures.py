"""Makes the Keras fixtures for MultiHeadAttention (tests/test_attention.py; run with
/work/tfvenv/bin/python from the repository root).
  self:  Embedding(mask_zero=True) ids -> MultiHeadAttention(x, x) (the Keras mask masks
         the query rows and the key columns) -> GlobalAveragePooling1D
         (the query's mask passed on) -> Dense
  cross: query (5, 6), value (5, 3), key (5, 7) and a 0/1 attention mask (5, 5) ->
         MultiHeadAttention(value_dim=2, output_shape=4)(q, v, key=k, attention_mask=m,
         use_causal_mask=True, return_attention_scores=True) -> [output, scores reshaped]
Each: the file, the inputs, Keras's predictions and the weights after one SGD step."""
import numpy as np
import keras
from keras import layers

keras.utils.set_random_seed(7)
rng = np.random.default_rng(7)
out = {}


def save(name, model, xs):
    for w in model.weights:
        w.assign(w.numpy() + rng.normal(0, 0.2, w.shape).astype("float32"))
    model.save(f"tests/data/keras_attention_{name}.keras")
    ys = model.predict(xs, verbose=0)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    for k, y in enumerate(ys):
        out[f"{name}_pred{k}"] = y
    for k, x in enumerate(xs):
        out[f"{name}_in{k}"] = x
    targets = [rng.standard_normal(y.shape).astype("float32") for y in ys]
    for k, t in enumerate(targets):
        out[f"{name}_target{k}"] = t
    model.compile(keras.optimizers.SGD(0.1), ["mse"] * len(ys))
    model.train_on_batch(xs, targets if len(targets) > 1 else targets[0])
    for k, w in enumerate(model.weights):
        out[f"{name}_w{k}"] = w.numpy()


ids = rng.integers(1, 20, (4, 6)).astype("int32")
ids[0, 3:] = 0
ids[1, 4:] = 0
ids[2, 1:] = 0
i = keras.Input((6,), dtype="int32")
e = layers.Embedding(20, 8, mask_zero=True)(i)
a = layers.MultiHeadAttention(num_heads=2, key_dim=4)(e, e)
save("self", keras.Model(i, layers.Dense(2)(layers.GlobalAveragePooling1D()(a))), [ids])

q_in, v_in, k_in = keras.Input((5, 6)), keras.Input((5, 3)), keras.Input((5, 7))
m_in = keras.Input((5, 5))
mha = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2, output_shape=4)
o, s = mha(q_in, v_in, key=k_in, attention_mask=m_in, use_causal_mask=True,
           return_attention_scores=True)
mask = (rng.random((3, 5, 5)) > 0.3).astype("float32")
mask[0, 2] = 0
xs = [rng.standard_normal((3, 5, 6)).astype("float32"),
      rng.standard_normal((3, 5, 3)).astype("float32"),
      rng.standard_normal((3, 5, 7)).astype("float32"), mask]
s = layers.Reshape((50,))(s)  # (Keras's scores carry the attention mask: a Reshape drops it)
save("cross", keras.Model([q_in, v_in, k_in, m_in], [o, s]), xs)
np.savez("tests/data/keras_attention_expected.npz", **out)
