"""fastnn's `keras.ops`: Keras 3's op names and semantics on NumPy arrays, differentiable.

>>> import numpy as np
>>> from fastnn.autodiff import ops
>>> ops.softmax(np.array([[1.0, 1.0]], np.float32))
array([[0.5, 0.5]], dtype=float32)

Ops take NumPy arrays, Python numbers, layer weights (`Variable`) or symbolic KerasTensors
and return NumPy arrays (or KerasTensors: applied to symbolic inputs, an op becomes a layer
of the Functional model).  Inside a custom layer's `call` or a `GradientTape` block the
ops are recorded and differentiated in reverse.  `ops.nn`, `ops.numpy`, `ops.core`,
`ops.math`, `ops.linalg` give the same functions by Keras's submodule names.  A Keras op
fastnn lacks raises AttributeError saying so.
"""
import sys as _sys
import types as _types

from fastnn.autodiff import core_ops as _core, nn_ops as _nn, numpy_ops as _np_ops

_NUMPY_NAMES = [
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "any", "append", "arange",
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin",
    "argsort", "array", "array_split", "average", "bincount", "broadcast_to", "cbrt", "ceil",
    "clip", "concatenate", "copy", "cos", "cosh", "count_nonzero", "cumprod", "cumsum", "diag",
    "diagonal", "diff", "digitize", "divide", "divide_no_nan", "dot", "einsum", "empty",
    "empty_like", "equal", "exp", "exp2", "expand_dims", "expm1", "eye", "flip", "floor",
    "floor_divide", "full", "full_like", "get_item", "greater", "greater_equal", "hstack",
    "hypot", "identity", "inner", "isclose", "isfinite", "isinf", "isnan", "less", "less_equal",
    "linspace", "log", "log10", "log1p", "log2", "logaddexp", "logical_and", "logical_not",
    "logical_or", "logical_xor", "matmul", "max", "maximum", "mean", "median", "meshgrid", "min",
    "minimum", "mod", "moveaxis", "multiply", "nan_to_num", "ndim", "negative", "nonzero",
    "not_equal", "ones", "ones_like", "outer", "pad", "power", "prod", "ravel", "reciprocal",
    "repeat", "reshape", "roll", "round", "searchsorted", "sign", "sin", "sinc", "sinh", "size",
    "sort", "split", "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum", "swapaxes",
    "take", "take_along_axis", "tan", "unstack", "tanh", "tensordot", "tile", "trace", "transpose", "tri",
    "tril", "triu", "true_divide", "trunc", "var", "vdot", "vstack", "where", "zeros",
    "zeros_like"]
_NN_NAMES = [
    "average_pool", "batch_normalization", "binary_crossentropy", "categorical_crossentropy",
    "celu", "conv", "dot_product_attention", "elu", "gelu", "glu", "hard_shrink", "hard_sigmoid",
    "hard_silu", "hard_swish", "hard_tanh", "layer_normalization", "leaky_relu", "log_sigmoid",
    "log_softmax", "max_pool", "moments", "multi_hot", "normalize", "one_hot", "relu", "relu6",
    "rms_normalization", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "sparse_categorical_crossentropy", "sparse_plus", "squareplus", "swish",
    "tanh_shrink", "threshold"]
_CORE_NAMES = [
    "cast", "cond", "convert_to_numpy", "convert_to_tensor", "custom_gradient", "dtype",
    "fori_loop", "is_tensor", "map", "saturate_cast", "scan", "scatter", "scatter_update",
    "shape", "slice", "slice_update", "stop_gradient", "switch", "vectorized_map", "while_loop"]
_MATH_NAMES = ["erf", "erfc", "in_top_k", "logsumexp", "rsqrt", "segment_sum", "top_k"]
_SOURCES = {n: _np_ops for n in _NUMPY_NAMES}
_SOURCES.update({n: _nn for n in _NN_NAMES})
_SOURCES.update({n: _core for n in _CORE_NAMES})
_SOURCES.update({n: _np_ops for n in ("erf", "erfc", "logsumexp", "rsqrt", "slice",
                                      "slice_update", "scatter", "scatter_update")})
_SOURCES.update({n: _core for n in ("in_top_k", "segment_sum", "top_k")})

__all__ = sorted(_SOURCES) + ["norm"]
for _name, _mod in _SOURCES.items():
    globals()[_name] = getattr(_mod, _name)
norm = _nn.norm


def _submodule(name, names, doc):
    mod = _types.ModuleType(f"{__name__}.{name}", doc)
    for n in names:
        setattr(mod, n, globals()[n])
    mod.__getattr__ = lambda attr, _m=name: _missing(attr, f"ops.{_m}")
    _sys.modules[mod.__name__] = mod
    return mod


nn = _submodule("nn", _NN_NAMES, "keras.ops.nn")
numpy = _submodule("numpy", _NUMPY_NAMES, "keras.ops.numpy")
core = _submodule("core", _CORE_NAMES, "keras.ops.core")
math = _submodule("math", _MATH_NAMES, "keras.ops.math")
linalg = _submodule("linalg", ["norm"], "keras.ops.linalg")

# Every name keras.ops has in Keras 3.15, for the error of one fastnn does not provide.
_KERAS_OPS = set("""
abs absolute adaptive_average_pool adaptive_max_pool add affine_transform all allclose amax 
amin angle any append arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh argmax 
argmin argpartition argsort array array_split associative_scan average average_pool bartlett 
batch_normalization binary_crossentropy bincount bitwise_and bitwise_invert bitwise_left_shift 
bitwise_not bitwise_or bitwise_right_shift bitwise_xor blackman broadcast_to cast 
categorical_crossentropy cbrt cdist ceil celu cholesky cholesky_inverse clip concatenate cond 
conj conjugate conv conv_transpose convert_to_numpy convert_to_tensor copy corrcoef correlate 
cos cosh count_nonzero crop_images cross ctc_decode ctc_loss cumprod cumsum custom_gradient 
deg2rad depth_to_space depthwise_conv det diag diagflat diagonal diff digitize divide 
divide_no_nan dot dot_product_attention dsplit dstack dtype eig eigh einsum elastic_transform 
elu empty empty_like equal erf erfc erfinv exp exp2 expand_dims expm1 extract_patches 
extract_patches_3d extract_sequences eye fabs fft fft2 flip fliplr flipud floor floor_divide 
fmax fmin fmod fold fori_loop full full_like gaussian_blur gcd gelu geomspace get_item glu 
greater greater_equal hamming hanning hard_shrink hard_sigmoid hard_silu hard_swish hard_tanh 
heaviside histogram hsplit hstack hsv_to_rgb hypot i0 identity ifft2 imag in_top_k inner inv 
irfft is_tensor isclose isfinite isin isinf isnan isneginf isposinf isreal istft jvp kaiser 
kron layer_normalization lcm ldexp leaky_relu left_shift less less_equal linspace log log10 
log1p log2 log_sigmoid log_softmax logaddexp logaddexp2 logdet logical_and logical_not 
logical_or logical_xor logspace logsumexp lstsq lu_factor map map_coordinates matmul 
matrix_rank max max_pool maximum mean median meshgrid min minimum mod moments moveaxis 
multi_hot multiply nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax nanmean 
nanmedian nanmin nanpercentile nanprod nanquantile nanstd nansum nanvar ndim negative 
nextafter nonzero norm normalize not_equal one_hot ones ones_like outer pad pad_images 
percentile perspective_transform pinv polar power prod psnr ptp qr quantile rad2deg ravel real 
rearrange reciprocal relu relu6 repeat reshape resize rfft rgb_to_grayscale rgb_to_hsv 
right_shift rms_normalization roll rot90 round rsqrt saturate_cast scale_and_translate scan 
scatter scatter_update searchsorted segment_max segment_min segment_prod segment_sum select 
selu separable_conv shape sigmoid sign signbit silu sin sinc sinh size slice slice_update 
slogdet sobel_edges soft_shrink softmax softplus softsign solve solve_triangular sort 
space_to_depth sparse_categorical_crossentropy sparse_plus sparse_sigmoid sparsemax split sqrt 
square squareplus squeeze ssim stack std stft stop_gradient subtract sum svd swapaxes swish 
switch take take_along_axis tan tanh tanh_shrink tensordot threshold tile top_k trace 
transpose trapezoid tri tril triu true_divide trunc unfold unique unravel_index unstack vander 
var vdot vectorize vectorized_map view view_as_complex view_as_real vsplit vstack where 
while_loop zeros zeros_like """.split())


def _missing(name, where="ops"):
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _KERAS_OPS:
        raise AttributeError(f"keras.{where}.{name} is not provided by fastnn yet (Keras 3 has "
                             f"it; fastnn's ops are listed in fastnn.autodiff.ops.__all__)")
    raise AttributeError(f"module 'keras.{where}' has no attribute '{name}'")


def __getattr__(name):
    _missing(name)
