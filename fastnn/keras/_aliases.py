"""Keras 3 public names that are other names for something fastnn has.

`keras.initializers` exports its classes under lower-case names too (`lecun_normal` is
`LecunNormal`, `IdentityInitializer` is `Identity`), and `keras.metrics` re-exports some
loss functions (`huber`, the focal cross-entropies).  `fastnn.keras._namespace` searches
this module after the fastnn module that owns the names; only names Keras has in the
module asked for are exported.
"""
from fastnn import initializers as _initializers
from fastnn import losses as _losses

# keras.initializers
constant = _initializers.Constant
identity = IdentityInitializer = _initializers.Identity
lecun_normal = _initializers.LecunNormal
lecun_uniform = _initializers.LecunUniform
orthogonal = OrthogonalInitializer = _initializers.Orthogonal
random_normal = _initializers.RandomNormal
random_uniform = _initializers.RandomUniform
variance_scaling = _initializers.VarianceScaling

# keras.metrics: loss functions Keras exports there too
huber = _losses.huber
binary_focal_crossentropy = _losses.binary_focal_crossentropy
categorical_focal_crossentropy = _losses.categorical_focal_crossentropy
