"""`Model.add_loss` and `Model.losses`, as Keras 3 has them.

A subclassed model's `call()` runs once, on symbolic inputs, to build its graph (see
fastnn/models/model.py).  `self.add_loss(t)` there, with `t` computed from the inputs
by layers and `keras.ops` (the keras-io VAE's KL term), records the symbolic `t`: the
model's plan computes it as an extra output after the real ones (`Model._loss_slots`),
the trainer adds its sum to each batch's loss, and the backward pass starts it with a
gradient of one, as Keras adds `ops.sum(loss)` of every added loss to the compiled loss.

A Functional model refuses `add_loss` with NotImplementedError, as Keras 3's Functional
does; outside `call()` the value is kept until the next forward pass (Keras's eager
`add_loss`) and shows in `model.losses`, without joining training.
"""
import numpy as np

from fastnn.autodiff.tape import value


def add_loss(model, loss):
    from fastnn.layers.layer import KerasTensor
    items = list(loss) if isinstance(loss, (list, tuple)) else [loss]
    for x in items:
        if not isinstance(x, (np.ndarray, np.generic, KerasTensor)) and \
                not hasattr(x, "value"):
            raise ValueError("`add_loss()` can only be called from inside `build()` or "
                             f"`call()`, on a tensor input. Received invalid value: {x}")
    if model.__dict__.get("_tracing"):
        for x in items:
            if not isinstance(x, KerasTensor):
                raise NotImplementedError(
                    f"Model '{model.name}' called add_loss() in call() with a value that does "
                    f"not depend on the model's inputs: fastnn runs a subclassed model's "
                    f"call() once, to build its graph, so such a loss would never change. "
                    f"Compute it from the inputs, or add weight penalties with "
                    f"`kernel_regularizer=` or inside a custom layer's call()")
            model._added_losses.append(x)
        return
    if type(model).call is _functional_call():
        raise NotImplementedError(
            "add_loss() on a Functional model is not supported (as in Keras 3): add the loss "
            "inside a layer's call(), e.g. a custom layer calling self.add_loss()")
    model.__dict__.setdefault("_eager_losses", []).extend(
        float(np.sum(value(x))) for x in items)


def _functional_call():
    from fastnn.models.model import Model
    return Model.call


def added_loss_values(model):
    """The sums of the model's add_loss() tensors in its last forward pass."""
    values = getattr(model, "_values", None)
    if not model._loss_slots or values is None:
        return []
    return [float(np.sum(values[i], dtype=np.float64)) for i in model._loss_slots]


def losses(model, weights=True):
    """Keras's `model.losses`: the model's add_loss values, then its layers' (custom
    layers' add_loss and activity regularizers, built-in layers' activity regularizers,
    weight regularizers, unless `weights` is False)."""
    out = added_loss_values(model) + list(model.__dict__.get("_eager_losses", []))
    for layer in model.walk_layers():
        if getattr(layer, "_tape_layer", False):
            out += layer._loss_values()
    steps = [s for s, *_ in getattr(model, "_plan", ())
             if s.__class__.__name__ == "ActivityRegularized"] + inner_activity_steps(model)
    for step in steps:
        if step._outputs is not None:
            out.append(float(step.penalty))
    if weights:
        out += [penalty for _, _, penalty in weight_penalties(model)]
    return out


def weight_penalties(model):
    """(variable, regularizer, penalty) of the weights with a regularizer, outside custom
    layers (whose own add_loss terms hold their weights' penalties)."""
    tape_ids = {id(v) for layer in model.walk_layers() if getattr(layer, "_tape_layer", False)
                for v in layer.weights}
    out = []
    for v in model.trainable_weights:
        r = getattr(v, "regularizer", None)
        if r is not None and id(v) not in tape_ids:
            out.append((v, r, float(r(v.value))))
    return out


def may_add_losses(model):
    """Whether a model compiled without a loss may still have one to train on (Keras
    allows it when layers add losses; it raises at the first step otherwise)."""
    if not getattr(model, "_graph_built", False) or model._loss_slots:
        return True
    return any(getattr(l, "_tape_layer", False) for l in model.walk_layers())


def check_some_loss(model):
    """Keras's error for a step with neither a compiled loss nor an added one."""
    if model._loss_slots or any(getattr(l, "_tape_layer", False) and l._loss_values()
                                for l in model.walk_layers()):
        return
    raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")


def inner_activity_steps(model):
    """Activity-regularized layers a wrapper calls itself (Bidirectional's two RNNs)."""
    return [s for layer in model.walk_layers()
            for s in (layer.inner_activity_steps() if hasattr(layer, "inner_activity_steps")
                      else ())]
