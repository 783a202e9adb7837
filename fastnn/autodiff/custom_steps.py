"""Custom training steps: `Model.train_step` / `test_step` overrides honoured by `fit`,
`evaluate` and `train_on_batch`, written with a GradientTape as the keras-io guide
"Customizing what happens in fit()" writes them:

    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y = data
            with GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred)
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply(grads, self.trainable_variables)
            for metric in self.metrics:
                ...
            return {m.name: m.result() for m in self.metrics}

Pieces: `compute_loss` (the compiled loss, recorded on the tape with its analytic
gradient, plus the layers' add_loss terms), `Model.metrics` (a "loss" tracker and the
compiled metrics, with Keras's update_state/result/reset_state), the optimizer's Keras form
`apply(grads, variables)`, and the loops below (fit's batching, shuffling, callbacks,
validation; metrics reset at each epoch as Keras does).
"""
import numpy as np

from fastnn.autodiff import tape as _tape
from fastnn.autodiff.tape import value


def unpack_x_y_sample_weight(data):
    """Keras's helper: (x,), (x, y) or (x, y, sample_weight) -> (x, y, sample_weight)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found: {data}")


def overrides(model, name):
    from fastnn.models.trainer import Trainer
    return getattr(type(model), name) is not getattr(Trainer, name)


# ---- the optimizer's Keras form ------------------------------------------------------------
def apply_gradients(optimizer, grads, variables):
    """`optimizer.apply(grads, variables)`: one fused update.  The model's trainable
    weights live in one flat buffer, so their gradients are copied into the flat gradient
    buffer (nothing to copy when they are the `.grad` views a tape gave back); any other
    list of variables is gathered into a flat buffer kept per list."""
    variables = list(variables)
    grads = list(grads)
    if len(grads) != len(variables):
        raise ValueError(f"optimizer.apply: {len(grads)} gradients for {len(variables)} "
                         f"variables")
    state = optimizer.__dict__.setdefault("_keras_apply", {})
    key = tuple(id(v) for v in variables)
    packed = state.get(key)
    if packed is None:
        _check_variables_are_known(optimizer, variables)
        packed = state[key] = _packing(variables)
    params, flat_grads, views = packed
    for v, g, gview in zip(variables, grads, views):
        if g is None:
            gview[...] = 0
        elif not (isinstance(g, np.ndarray) and np.shares_memory(g, gview) and g.shape == v.shape):
            gview[...] = np.reshape(value(g), v.shape)
    if params is None:  # gathered: copy in, update, copy out
        flat = np.concatenate([v.value.reshape(-1) for v in variables]).astype(np.float32)
        optimizer.apply(flat, flat_grads, variables)
        offset = 0
        for v in variables:
            v.value[...] = flat[offset:offset + v.value.size].reshape(v.shape)
            offset += v.value.size
    else:
        optimizer.apply(params, flat_grads, variables)


def _check_variables_are_known(optimizer, variables):
    """As Keras: an optimizer that has stepped updates only the variables it was built
    with (its state is theirs); another model's variables need a new optimizer."""
    known = {id(v) for v in optimizer._slot_vars} if optimizer.has_slot_state() else None
    if not known:
        return
    for v in variables:
        if id(v) not in known:
            raise ValueError(f"Unknown variable: {v!r}. This optimizer can only be called "
                             f"for the variables it was originally built with. When working "
                             f"with a new set of variables, you should recreate a new "
                             f"optimizer instance.")


def _packing(variables):
    """(flat params or None, flat grads, per-variable gradient views)."""
    base = variables[0].value.base if variables else None
    contiguous = base is not None and base.ndim == 1 and all(
        v.value.base is base for v in variables)
    if contiguous:
        start = _offset(variables[0].value, base)
        offset = start
        for v in variables:
            if _offset(v.value, base) != offset:
                contiguous = False
                break
            offset += v.value.size
    if contiguous and variables[0].grad.base is not None:
        gbase = variables[0].grad.base
        gstart = _offset(variables[0].grad, gbase)
        if all(v.grad.base is gbase for v in variables) and gstart == start:
            n = offset - start
            return base[start:start + n], gbase[start:start + n], [v.grad for v in variables]
    total = sum(v.value.size for v in variables)
    flat_grads = np.zeros(total, np.float32)
    views, offset = [], 0
    for v in variables:
        views.append(flat_grads[offset:offset + v.value.size].reshape(v.shape))
        offset += v.value.size
    return None, flat_grads, views


def _offset(view, base):
    return (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // 4


# ---- compute_loss and metrics ---------------------------------------------------------------
def compute_loss(model, x=None, y=None, y_pred=None, sample_weight=None, training=True):
    """The compiled loss of `y_pred` (weighted by sample_weight) plus the add_loss terms of
    the model's custom layers, as a scalar the active tape can differentiate."""
    from fastnn.autodiff import numpy_ops
    specs = [s for s in model._specs() if s.loss is not None]
    preds = y_pred if isinstance(y_pred, (list, tuple)) else [y_pred]
    ys = y if isinstance(y, (list, tuple)) and len(specs) > 1 else [y]
    total = None
    for spec, p, t in zip(specs, preds, ys):
        part = _loss_of(spec, t, p, sample_weight)
        total = part if total is None else numpy_ops.add(total, part)
    # Keras adds sum(model.losses): add_loss terms (the model's, its custom layers'),
    # activity penalties (their gradients come from the layers' own backward passes) and
    # weight penalties, recorded here so the tape carries their gradients to the weights
    from fastnn.autodiff import model_losses
    extra = 0.0
    for v, r, penalty in model_losses.weight_penalties(model):
        tape = _tape.current()
        if tape is None or not v.trainable:
            extra += penalty
            continue
        term = tape.record(lambda g, needs, v=v, r=r: (
            np.asarray(np.asarray(r.gradient(v.value), np.float32) * g, np.float32),),
            (tape.watch(v),), np.asarray(penalty, np.float32))
        total = term if total is None else numpy_ops.add(total, term)
    extra += sum(model_losses.losses(model, weights=False))
    if extra:
        total = np.float32(extra) if total is None else numpy_ops.add(total, np.float32(extra))
    return total


def _loss_of(spec, y, y_pred, sample_weight):
    loss = spec.loss
    pred = np.ascontiguousarray(value(y_pred), dtype=np.float32)
    target = loss.prepare_targets(np.asarray(value(y)), pred.shape) \
        if hasattr(loss, "prepare_targets") else np.asarray(value(y))
    per_sample, dout = loss.forward_backward(target, pred)
    n = len(pred)
    scale = np.float32(spec.weight if hasattr(spec, "weight") else 1.0)
    if sample_weight is not None:
        w = np.asarray(value(sample_weight), np.float32).reshape(-1)
        per_sample = per_sample * w
        dout = dout * w.reshape((-1,) + (1,) * (dout.ndim - 1))
    out = np.asarray(np.sum(per_sample) / max(n, 1) * scale, np.float32)
    tape = _tape.current()
    slot = -1 if tape is None else tape.slot_of(y_pred)
    if slot < 0:
        return out
    dout = np.asarray(dout * scale, np.float32)
    return tape.record(lambda g, needs: (None, dout * g), (-1, slot), out)


class LossTracker:
    """Keras's `Mean(name="loss")` the default `model.metrics` starts with."""

    def __init__(self, name="loss"):
        self.name = name
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        v = np.asarray(value(values), np.float64)
        w = np.ones_like(v) if sample_weight is None else np.broadcast_to(
            np.asarray(value(sample_weight), np.float64), v.shape)
        self.total += float(np.sum(v * w))
        self.count += float(np.sum(w))

    def result(self):
        return np.float32(self.total / self.count if self.count else 0.0)

    def reset_state(self):
        self.total = self.count = 0.0


class CompiledMetric:
    """A compiled metric with Keras's update_state / result / reset_state."""

    def __init__(self, name, metric, index=0, weighted=False):
        self.name, self.metric, self.index, self.weighted = name, metric, index, weighted

    def update_state(self, y_true, y_pred, sample_weight=None):
        preds = y_pred if isinstance(y_pred, (list, tuple)) else [y_pred]
        ys = y_true if isinstance(y_true, (list, tuple)) else [y_true]
        p = np.asarray(value(preds[min(self.index, len(preds) - 1)]), np.float32)
        t = np.asarray(value(ys[min(self.index, len(ys) - 1)]))
        update = getattr(self.metric, "update_state", None) or self.metric.update
        if self.weighted and sample_weight is not None:
            update(t, p, sample_weight=np.asarray(value(sample_weight)))
        else:
            update(t, p)

    def result(self):
        return self.metric.result()

    def reset_state(self):
        reset = getattr(self.metric, "reset_state", None) or self.metric.reset
        reset()


def model_metrics(model):
    """Keras's `model.metrics`: the loss tracker, then the compiled metrics."""
    cache = model.__dict__.get("_keras_metrics")
    if cache is None:
        cache = [LossTracker()]
        if model.compiled and model._loss_id is not None:
            for spec in model._specs():
                cache += [CompiledMetric(key, m, spec.index, key in spec.weighted_keys)
                          for key, m in spec.metrics]
        model.__dict__["_keras_metrics"] = cache
    return cache


def _reset_metrics(model):
    for m in model.metrics:
        reset = getattr(m, "reset_state", None) or getattr(m, "reset", None)
        if reset is not None:
            reset()


def _floats(logs):
    """Keras 3's pythonify_logs: keys sorted, nested dicts flattened, scalars as floats."""
    out = {}
    for k, v in sorted(dict(logs or {}).items()):
        if isinstance(v, dict):
            out.update(_floats(v))
            continue
        v = value(v) if not isinstance(v, (int, float)) else v
        out[k] = float(v) if np.ndim(v) == 0 else np.asarray(v)
    return out


# ---- the loops -----------------------------------------------------------------------------
def _data(xs, y, sw, lo, hi, order, single):
    idx = slice(lo, hi) if order is None else order[lo:hi]
    bx = [a[idx] for a in xs]
    bx = bx[0] if single else bx
    if y is None:  # Keras hands the step x itself when there are no targets
        return bx
    by = [t[idx] for t in y] if isinstance(y, list) else y[idx]
    return (bx, by) if sw is None else (bx, by, sw[idx])


def _graphless(model):
    """A Model subclass with its own train/test step but no graph and no `call` (the
    keras-io GAN): its data goes to the step as given, as in Keras."""
    from fastnn.models.model import Model
    return not getattr(model, "_graph_built", False) and \
        getattr(type(model), "call", None) is getattr(Model, "call", None)


def _arrays(model, x, y, sample_weight):
    from fastnn.models import data
    if _graphless(model):
        single = not isinstance(x, (list, tuple))
        xs = [data.float_array(a, "x") for a in ([x] if single else x)]
    else:
        xs = model._inputs(x)
        single = len(model.inputs) == 1
    for a in xs:
        data.check_finite(a, "x")
    if y is not None:
        y = [np.asarray(t) for t in y] if isinstance(y, (list, tuple)) else np.asarray(y)
    sw = None if sample_weight is None else np.asarray(sample_weight, np.float32)
    n = len(xs[0])
    for t in ([] if y is None else y if isinstance(y, list) else [y]) + \
            ([] if sw is None else [sw]):
        if len(t) != n:
            raise ValueError(f"Data cardinality is ambiguous: x has {n} samples, but y or "
                             f"sample_weight has {len(t)}")
    return xs, y, sw, single


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split,
        validation_data, shuffle, sample_weight, initial_epoch, steps_per_epoch,
        validation_batch_size, validation_freq, class_weight):
    """`fit` with an overridden `train_step`: the step gets each batch as Keras hands it,
    `x`, `(x, y)` or `(x, y, sample_weight)`, from arrays or from a generator, PyDataset
    or dataset (whose batches come as they are)."""
    from fastnn import random
    from fastnn.callbacks import CallbackList
    from fastnn.models import data, data_adapters
    if class_weight is not None:
        raise ValueError("class_weight is not supported with a custom train_step (apply the "
                         "weights in your step)")
    data.check_fit_arguments(epochs, initial_epoch, steps_per_epoch, validation_freq)
    verbose = 1 if verbose == "auto" else verbose
    source, val = None, None
    if data_adapters.is_source(x):
        model._check_source_support(x, validation_split)
        source = data_adapters.get(x, y, sample_weight, steps_per_epoch, shuffle, None,
                                   batch_size)
        steps = source.steps_hint
    else:
        batch_size = data.check_batch_size(batch_size)
        xs, y, sw, single = _arrays(model, x, y, sample_weight)
        if validation_split:
            arrays = xs + ([] if y is None else [y]) + ([] if sw is None else [sw])
            train, held = data.train_validation_split(arrays, validation_split)
            k = len(xs)
            xs, vxs = train[:k], held[:k]
            y, vy = (train[k], held[k]) if y is not None else (None, None)
            sw = train[-1] if sw is not None else None
            val = (vxs[0] if single else vxs, vy, None)
        n = len(xs[0])
        steps = -(-n // batch_size)
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
    if validation_data is not None:
        val = validation_data if data_adapters.is_source(validation_data) else \
            data.unpack_validation_data(validation_data)
    model._pack_parameters()
    cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
        callbacks, add_history=True, add_progbar=verbose != 0, model=model, verbose=verbose,
        epochs=epochs, steps=steps)
    model.stop_training = False
    cbs.on_train_begin()
    logs = {}
    try:
        for epoch in range(initial_epoch, epochs):
            _reset_metrics(model)
            cbs.on_epoch_begin(epoch)
            if source is not None:
                batches = _source_data(model, source)
            else:
                order = random.generator().permutation(n) if shuffle else None
                batches = _array_data(xs, y, sw, batch_size, steps, order, single)
            epoch_logs = {}
            try:
                for step, batch in batches:
                    cbs.on_train_batch_begin(step)
                    epoch_logs = _floats(model.train_step(batch))
                    cbs.on_train_batch_end(step, epoch_logs)
                    if model.stop_training:
                        break
            finally:
                batches.close()
            if source is not None and source.ran_out:
                model.stop_training = True
                if not epoch_logs:  # nothing left to read: this epoch did not happen
                    break
            logs = dict(epoch_logs)
            if val is not None and (epoch + 1) % validation_freq == 0:
                vx, vy, vw = (val, None, None) if data_adapters.is_source(val) else val
                val_logs = evaluate(model, vx, vy, validation_batch_size or batch_size, 0, vw,
                                    None, None, True, cbs=cbs)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    finally:
        if source is not None:
            source.close()
    cbs.on_train_end(logs)
    return model.history


def _array_data(xs, y, sw, batch_size, steps, order, single):
    """(step, the step's `data`) over arrays, in `order` (None: as they are)."""
    n = len(xs[0])
    for step in range(steps):
        lo, hi = step * batch_size, min((step + 1) * batch_size, n)
        yield step, _data(xs, y, sw, lo, hi, order, single)


def _source_data(model, source):
    """(step, the step's `data`) over one epoch of a generator, PyDataset or dataset."""
    epoch = source.epoch()
    try:
        for step, ((bx, by, bw), _) in epoch:
            try:
                xs, y, sw, single = _arrays(model, bx, by, bw)
            except ValueError as exc:
                raise ValueError(f"Batch {step} of the {source.kind}: {exc}") from None
            yield step, _data(xs, y, sw, 0, len(xs[0]), None, single)
    finally:
        epoch.close()


def evaluate(model, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict,
             cbs=None):
    from fastnn.callbacks import CallbackList
    from fastnn.models import data, data_adapters
    verbose = 1 if verbose == "auto" else verbose
    source = None
    if data_adapters.is_source(x):
        model._check_source_support(x, 0)
        source = data_adapters.get(x, y, sample_weight, steps, batch_size=batch_size,
                                   what="steps")
        n_steps = source.steps_hint
    else:
        batch_size = data.check_batch_size(batch_size)
        xs, y, sw, single = _arrays(model, x, y, sample_weight)
        n_steps = -(-len(xs[0]) // batch_size)
        if steps is not None:
            n_steps = min(n_steps, int(steps))
    if cbs is None:
        cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                           epochs=1, steps=n_steps)
    _reset_metrics(model)
    cbs.on_test_begin()
    logs = {}
    step_fn = model.test_step if overrides(model, "test_step") else \
        (lambda d: default_test_step(model, d))
    batches = _source_data(model, source) if source is not None else \
        _array_data(xs, y, sw, batch_size, n_steps, None, single)
    try:
        for step, batch in batches:
            cbs.on_test_batch_begin(step)
            logs = _floats(step_fn(batch))
            cbs.on_test_batch_end(step, logs)
    finally:
        batches.close()
        if source is not None:
            source.close()
    cbs.on_test_end(logs)
    if return_dict:
        return dict(logs)
    return _flatten_in_order(model, logs)


def _flatten_in_order(model, logs):
    """evaluate()'s list: the values of `model.metrics` by name, then the rest sorted."""
    names = [getattr(m, "name", None) for m in model.metrics]
    values = [logs[k] for k in names if k in logs]
    values += [logs[k] for k in sorted(logs) if k not in names]
    return values[0] if len(values) == 1 else values


def default_test_step(model, data):
    """Keras's test_step (used for validation when only train_step is overridden)."""
    x, y, sw = unpack_x_y_sample_weight(data)
    y_pred = model(x, training=False)
    loss = compute_loss(model, x, y, y_pred, sw, training=False)
    for m in model.metrics:
        if m.name == "loss":
            m.update_state(loss)
    return compute_metrics(model, x, y, y_pred, sw)


def compute_metrics(model, x, y, y_pred, sample_weight=None):
    """Keras's `Model.compute_metrics`: updates the compiled metrics (the weighted ones
    with `sample_weight`) and returns every metric's result by name."""
    for m in model.metrics:
        if isinstance(m, CompiledMetric):
            m.update_state(y, y_pred, sample_weight)
    return get_metrics_result(model)


def get_metrics_result(model):
    """Keras's `Model.get_metrics_result`: {name: result} of `model.metrics`."""
    return {m.name: m.result() for m in model.metrics}


def train_on_batch(model, x, y, sample_weight, return_dict):
    xs, y, sw, single = _arrays(model, x, y, sample_weight)
    model._pack_parameters()
    _reset_metrics(model)
    logs = _floats(model.train_step(_data(xs, y, sw, 0, len(xs[0]), None, single)))
    if return_dict:
        return logs
    return _flatten_in_order(model, logs)


# ---- predict_step overrides ------------------------------------------------------------------
def predict(model, x, batch_size, verbose, steps, callbacks):
    """`predict` with an overridden `predict_step` (Keras 3): the step is called on each
    batch of x (x itself, as Keras hands it) and its outputs (an array, or a list, tuple or
    dict of them) are concatenated over the batches with the same structure."""
    from fastnn.callbacks import CallbackList
    from fastnn.models import data, data_adapters
    if data_adapters.is_source(x):
        return _predict_source(model, x, batch_size, verbose, steps, callbacks)
    batch_size = data.check_batch_size(batch_size)
    data.check_steps(steps, "steps")
    verbose = 1 if verbose == "auto" else verbose
    xs, _, _, single = _arrays(model, x, None, None)
    n = len(xs[0])
    n_steps = -(-n // batch_size)
    if steps is not None:
        n_steps = min(n_steps, int(steps))
    cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                       epochs=1, steps=n_steps)
    cbs.on_predict_begin()
    parts = []
    for step in range(n_steps):
        cbs.on_predict_batch_begin(step)
        lo, hi = step * batch_size, min((step + 1) * batch_size, n)
        with _tape.paused():
            out = model.predict_step(_data(xs, None, None, lo, hi, None, single))
        parts.append(_as_arrays(out))
        cbs.on_predict_batch_end(step, {"outputs": parts[-1]})
    cbs.on_predict_end()
    if not parts:
        raise ValueError("Unexpected result of `predict_step` (no batches): the input is empty")
    return _concat(parts)


def _predict_source(model, x, batch_size, verbose, steps, callbacks):
    """`predict` with an overridden `predict_step` on a generator, PyDataset or dataset:
    the step gets each batch's x (as the array path hands it)."""
    from fastnn.callbacks import CallbackList
    from fastnn.models import data_adapters
    model._check_source_support(x, 0)
    source = data_adapters.get(x, steps=steps, batch_size=batch_size, what="steps")
    verbose = 1 if verbose == "auto" else verbose
    cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                       epochs=1, steps=source.steps_hint)
    cbs.on_predict_begin()
    parts = []
    epoch = source.epoch()
    try:
        for step, ((bx, _, _), _) in epoch:
            cbs.on_predict_batch_begin(step)
            try:
                xs, _, _, single = _arrays(model, bx, None, None)
            except ValueError as exc:
                raise ValueError(f"Batch {step} of the {source.kind}: {exc}") from None
            with _tape.paused():
                out = model.predict_step(_data(xs, None, None, 0, len(xs[0]), None, single))
            parts.append(_as_arrays(out))
            cbs.on_predict_batch_end(step, {"outputs": parts[-1]})
    finally:
        epoch.close()
        source.close()
    cbs.on_predict_end()
    if not parts:
        raise ValueError(f"predict() received no batches from the {source.kind}: it yielded "
                         f"nothing")
    return _concat(parts)


def _as_arrays(out):
    if isinstance(out, dict):
        return {k: _as_arrays(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return type(out)(_as_arrays(v) for v in out)
    return np.array(value(out))


def _concat(parts):
    first = parts[0]
    if isinstance(first, dict):
        return {k: _concat([p[k] for p in parts]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_concat([p[i] for p in parts]) for i in range(len(first)))
    if np.ndim(first) == 0:
        return np.stack(parts)
    return np.concatenate(parts, axis=0)
