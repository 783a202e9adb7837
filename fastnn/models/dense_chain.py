"""The training step of a small dense classifier (maybe a Flatten, then Dense layers with
ReLU or no activation, then softmax with categorical or sparse categorical cross-entropy,
or logits with from_logits=True) in one kernel call.

For such a model, Python's work per layer and per array check costs more than the
arithmetic (the Iris MLP's matrices are 16 x 32).  `_C.DenseChain` runs the same kernels
as the layer-by-layer step, on the same arguments and in the same order, so training
gives the same bits either way; anything else (a regularizer, a constraint, sample
weights, label smoothing, another layer or loss, data-parallel training) takes the
general step.
"""
import numpy as np

from fastnn import _C, activations, distributed
from fastnn.layers.dense import Dense
from fastnn.layers.reshaping import Flatten
from fastnn.losses.crossentropy import CategoricalCrossentropy, SparseCategoricalCrossentropy
from fastnn.models import graph

_F32 = np.dtype(np.float32)


def chain_layers(model):
    """The model's Dense layers in order when its training step can be one DenseChain
    call, else None.  A Flatten may come first (channels last: a reshape)."""
    specs = [s for s in model._outputs_spec if s.loss is not None]
    if len(specs) != 1 or len(model.outputs) != 1 or len(model.inputs) != 1 or \
            not _simple_loss(specs[0]):
        return None
    if model._uses_masks or model._loss_slots or model._tape_layers or \
            model._weights_regularized or model._weights_constrained or model._activity_steps:
        return None
    fused = model._fused_layers.get(specs[0].index)  # softmax left to the loss, or
    if fused is None and not specs[0].loss.from_logits:  # the model outputs logits
        return None
    plan = list(model._loss_plan)
    slot = 0
    if plan and type(plan[0][0]) is Flatten and plan[0][0].data_format == "channels_last" \
            and tuple(plan[0][1]) == (0,):
        slot, plan = plan[0][2], plan[1:]
    layers = []
    for step, ins, out, _, _ in plan:
        deferred = isinstance(step, graph.DeferredActivation)
        layer = step.layer if deferred else step
        if type(layer) is not Dense or tuple(ins) != (slot,) or out.__class__ is not int or \
                deferred != (layer is fused):
            return None
        if not deferred and layer.activation not in (activations.relu, activations.linear):
            return None
        layers.append(layer)
        slot = out
    if not layers or model._output_slots[0] != slot or \
            (fused is None and layers[-1].activation is not activations.linear):
        return None
    weights = [v for layer in layers for v in layer.weights]
    trainable = model.trainable_weights
    if len(weights) != len(trainable) or any(a is not b for a, b in zip(weights, trainable)):
        return None  # a frozen layer, or weights outside the chain
    return layers


def _loss_spec(model):
    return next(s for s in model._outputs_spec if s.loss is not None)


def loss_of(model):
    """The model's one compiled loss (what a DenseChainStep was made for)."""
    return _loss_spec(model).loss


def _simple_loss(spec):
    loss = spec.loss
    if spec.weight != 1.0 or loss.reduction != "sum_over_batch_size":
        return False
    if type(loss) is CategoricalCrossentropy:
        return not loss.label_smoothing
    return type(loss) is SparseCategoricalCrossentropy and loss.ignore_class is None


class DenseChainStep:
    """The trainer's fast step for a model `chain_layers` accepts."""

    def __init__(self, model, layers):
        self.model, self.layers = model, layers
        self.spec = _loss_spec(model)
        self.chain, self.params = None, None
        self.sparse = type(self.spec.loss) is SparseCategoricalCrossentropy
        self.logits = self.spec.loss.from_logits  # the model's output: logits, not softmax
        self.flatten = type(model._loss_plan[0][0]) is Flatten
        self.target_dtype = np.dtype(np.int32 if self.sparse else np.float32)

    def _bind(self, capacity):
        """A DenseChain on the current weight and gradient arrays (the trainer's packing
        makes them views into its flat buffers, and repacking replaces those)."""
        layers = self.layers
        self.chain = _C.DenseChain(
            [layer.kernel.value for layer in layers],
            [None if layer.bias is None else layer.bias.value for layer in layers],
            [layer.kernel.grad for layer in layers],
            [None if layer.bias is None else layer.bias.grad for layer in layers],
            [layer.activation is activations.relu for layer in layers[:-1]] + [False],
            capacity)
        self.params = self.model._flat_params

    def step(self, x, y):
        """(total loss summed over the batch, [that sum], [the probabilities, or the
        logits]) as the general step returns them, or None when this batch needs the
        general step."""
        if self.sparse and y.ndim == 2:
            y = y[:, 0]  # labels given as (N, 1)
        if x.ndim > 2 and self.flatten:
            x = x.reshape(len(x), -1)  # what Flatten does (a copy when not contiguous)
        # (builtin dtypes are singletons: `is` also refuses a non-native byte order)
        if x.dtype is not _F32 or y.dtype is not self.target_dtype or x.ndim != 2 or \
                not (x.flags.c_contiguous and y.flags.c_contiguous) or \
                distributed.strategy().active:
            return None
        n = len(x)
        if self.params is not self.model._flat_params or n > self.chain.capacity:
            self._bind(n)
        scale = 1.0 / n  # as the losses' per_sample_scale and _per_sample compute it
        probs, values = self.chain.train(x, y, scale, self.logits)  # or the logits
        self.spec.loss._last_mask = None
        part = float((values * (scale * n)).sum())
        return part, [part], [probs]
