"""Keras masks outside a model's plan: the `_keras_mask` of a layer call's outputs.

Inside a model the plan carries masks itself (fastnn.models.graph.run_forward_masked).
Outside, Keras 3 attaches the mask to the tensor: `embedding(ids)._keras_mask` is the
(batch, time) boolean mask, a later layer called on that tensor receives it as its
`mask`, and a symbolic tensor's `_keras_mask` is a symbolic boolean tensor.  This module
does the same for fastnn's eager arrays and KerasTensors:

  * `input_mask(items, multi)`: the mask a call receives from its inputs' `_keras_mask`;
  * `output_mask(layer, x, mask)`: Keras's rule for the output's mask: the layer's
    `compute_mask(x, mask)` when it has one, else the input's mask when the layer
    `supports_masking` (one input), else none;
  * `attach(result, masks)`: set `_keras_mask` on the eager outputs;
  * `symbolic_mask(tensor)`: a KerasTensor's mask, worked out when asked (no cost for the
    graphs that never ask) by running `compute_mask` on a small stand-in batch.
"""
import numpy as np


def input_mask(items, multi):
    """The `_keras_mask` of the call's input(s): one mask, a list (several inputs), or None."""
    masks = [getattr(t, "_keras_mask", None) for t in items]
    if not any(m is not None for m in masks):
        return None
    return masks if multi else masks[0]


def output_mask(layer, x, mask):
    """Keras's mask for the output(s) of `layer` called on `x` with input mask `mask`."""
    compute = getattr(layer, "compute_mask", None)
    if callable(compute):
        return compute(x, mask)
    if getattr(layer, "supports_masking", False) and not isinstance(mask, list):
        return mask
    return None


def attach(result, masks):
    """`result` (an eager array, or a list/tuple of them) with `_keras_mask` set."""
    if isinstance(result, (list, tuple)):
        per = list(masks) if isinstance(masks, (list, tuple)) else [masks] * len(result)
        for r, m in zip(result, per):
            _set(r, m)
    else:
        _set(result, masks)
    return result


def _set(array, mask):
    if isinstance(array, np.ndarray) and type(array) is not np.ndarray:
        array._keras_mask = None if mask is None else _as_eager_bool(mask)


def _as_eager_bool(mask):
    from fastnn._eager import eager
    m = np.asarray(mask)
    return eager(np.array(m if m.dtype == np.bool_ else m.astype(bool)))


def symbolic_mask(tensor):
    """The KerasTensor mask of `tensor` (None when its value has no Keras mask)."""
    node = tensor.node
    if node is None or not getattr(node, "outputs", None) or node.layer is None:
        return None
    layer = node.layer
    compute = getattr(layer, "compute_mask", None)
    ins = node.inputs[:node.n_positional]
    in_masks = [t._keras_mask for t in ins]
    if not callable(compute):
        if getattr(layer, "supports_masking", False) and len(ins) == 1:
            return in_masks[0]
        return None
    # a stand-in batch: 2 for every unknown dimension, ones as values (ids 1, not padding)
    xs = [np.ones(_concrete(t.shape), np.float32) for t in ins]
    ms = [None if m is None else np.ones(_concrete(m.shape), bool) for m in in_masks]
    multi = node.takes_list or len(ins) > 1
    try:
        with np.errstate(all="ignore"):
            got = compute(xs if multi else xs[0],
                          (ms if any(m is not None for m in ms) else None) if multi else ms[0])
    except Exception:  # noqa: BLE001 - a compute_mask that needs real values
        return None
    outs = got if isinstance(got, (list, tuple)) else [got] * len(node.outputs)
    got = outs[tensor.index] if tensor.index < len(outs) else None
    if got is None:
        return None
    return _mask_tensor(tensor, np.shape(got))


def _concrete(shape):
    return tuple(2 if d is None else int(d) for d in shape)


def _mask_tensor(tensor, shape):
    """A boolean KerasTensor for `tensor`'s mask: the dimensions it shares with the tensor
    keep the tensor's (None stays None), the batch is None."""
    from fastnn.layers.layer import KerasTensor
    dims = [None] + [tensor.shape[i] if i < len(tensor.shape) else d
                     for i, d in enumerate(shape)][1:]
    mask = KerasTensor(tuple(dims), None, 0, name=f"{tensor.name}_mask")
    mask.dtype = "bool"
    return mask
