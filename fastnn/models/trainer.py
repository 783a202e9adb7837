"""compile / fit / evaluate / predict with Keras's semantics.

The loops follow keras/src/trainers: `validation_split` takes the last fraction before
shuffling, steps per epoch = ceil(n / batch_size) with the last partial batch used,
`shuffle=True` reshuffles every epoch, logged values are running means over the epoch
weighted by batch size, and `evaluate` returns `[loss, *metrics]` (a scalar without
metrics).  A training step allocates nothing in steady state: batches are gathered
into reused buffers and each layer reuses its own.
"""
import numpy as np

from fastnn import _interrupt, distributed, losses, metrics as metrics_module, optimizers, random
from fastnn._validate import allocate
from fastnn.callbacks import CallbackList
from fastnn.models import data


class Trainer:
    def __init__(self):
        self.optimizer = self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._metric_ids, self._metrics = [], None
        self._packed_ids = None
        self._gather = data.BatchGatherer()

    # ---- compile ---------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configure the model for training: optimizer (default "rmsprop"), loss, metrics."""
        self.optimizer = optimizers.get(optimizer)
        self.loss = None if loss is None else losses.get(loss)
        if self.loss is not None:
            self.loss.check_trainable()
        self._loss_id = loss
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ValueError(f"Expected `metrics` to be a list, received {type(metrics).__name__}")
        self._metric_ids = list(metrics or [])
        self._metrics = None
        self.compiled = True

    def get_compile_config(self):
        """What `compile()` was given, as Keras writes it in a `.keras` file."""
        if not self.compiled:
            return None
        loss = self._loss_id
        if loss is not None and not isinstance(loss, str):
            loss = losses.serialize(self.loss)
        metrics = [m if isinstance(m, str) else metrics_module.serialize(m)
                   if isinstance(m, metrics_module.Metric) else getattr(m, "__name__", str(m))
                   for m in self._metric_ids] or None
        return {"optimizer": optimizers.serialize(self.optimizer), "loss": loss,
                "loss_weights": None, "metrics": metrics, "weighted_metrics": None,
                "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}

    def compile_from_config(self, config):
        """`compile()` with the arguments of `get_compile_config()`'s output."""
        if not isinstance(config, dict):
            raise ValueError(f"compile_config must be a dict, received {str(config)[:200]}")
        unsupported = {k: v for k, v in config.items()
                       if k in ("loss_weights", "weighted_metrics") and v is not None}
        if unsupported:
            raise ValueError(f"compile_config: {unsupported} is not supported by fastnn")
        metrics = config.get("metrics")
        if isinstance(metrics, list):  # Keras writes metric objects as config dicts
            metrics = [metrics_module.deserialize_or_name(m) for m in metrics]
        self.compile(optimizer=optimizers.get(config.get("optimizer") or "rmsprop"),
                     loss=config.get("loss"), metrics=metrics)

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self._metrics or []]

    def _require_compiled(self, method):
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before calling `{method}()`.")
        if self.loss is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")

    # ---- preparing data ----------------------------------------------------------------
    def _inputs(self, x, what="x"):
        items = data.as_list(x)
        if len(items) > 1 and self._expects_single_input() and \
                not any(isinstance(a, np.ndarray) for a in items):
            items = [x]  # nested Python lists: one array, as numpy reads them
        xs = [data.float_array(a, what) for a in items]
        self._ensure_graph([(None,) + a.shape[1:] for a in xs])
        if len(xs) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s), "
                             f"but it received {len(xs)} input arrays")
        for i, (a, t) in enumerate(zip(xs, self.inputs)):
            expected = t.shape[1:]
            if len(a.shape) - 1 == len(expected) and all(
                    e is None or e == d for e, d in zip(expected, a.shape[1:])):
                continue
            consumer = next((n.layer.name for n in self._nodes if t in n.inputs), self.name)
            if len(a.shape) - 1 == len(expected) and expected[:-1] == a.shape[1:-1]:
                raise ValueError(f"Input {i} of layer '{consumer}' is incompatible with the layer: "
                                 f"expected axis -1 of input shape to have value {expected[-1]}, "
                                 f"but received input with shape {a.shape}")
            raise ValueError(f"Input {i} of layer '{consumer}' is incompatible with the layer: "
                             f"expected shape={tuple(t.shape)}, found shape={a.shape}")
        return xs

    def _targets(self, y, n_outputs_shape):
        if len(self.outputs) != 1:
            raise NotImplementedError("fastnn trains models with one output only")
        if y is None:
            raise ValueError("Training and evaluating need targets: pass `y` (the labels) "
                             "along with `x`")
        y = data.numeric_array(y, "y", " Labels must be numbers (class indices or one-hot).")
        if y.ndim == 0:
            raise ValueError("`y` must have a batch dimension, received a scalar")
        return self.loss.prepare_targets(y, (len(y),) + tuple(n_outputs_shape[1:]))

    def _prepare(self, x, y, what=""):
        xs = self._inputs(x, "x" + what)
        y = self._targets(y, self.output_shape)
        data.check_cardinality(xs, y)
        for a in xs:
            data.check_finite(a, "x" + what)
        data.check_finite(y, "y" + what)
        self._prepare_training_state()
        return xs, y

    def _prepare_training_state(self):
        if self._metrics is None:
            self._metrics = [metrics_module.get(m, self.loss, self.output_shape)
                             for m in self._metric_ids]
        self._fused_layer = self._find_fused_layer()

    def _find_fused_layer(self):
        """The output layer whose activation the loss can take over (softmax + cross-entropy)."""
        if getattr(self.loss, "from_logits", True) or self.loss.fused_activation is None:
            return None
        layer = self.outputs[0].node.layer
        act = getattr(layer, "activation", None)
        alone = self._output_consumers.get(id(self.outputs[0]), 0) == 0
        ok = alone and hasattr(layer, "defer_activation") and act is not None
        return layer if ok and act.name == self.loss.fused_activation else None

    def _pack_parameters(self):
        """Trainable weights and gradients as views into two contiguous buffers."""
        variables = self.trainable_weights
        ids = [id(v) for v in variables]
        if ids == self._packed_ids:
            return
        total = sum(v.value.size for v in variables)
        self._flat_params = np.empty(total, dtype=np.float32)
        self._flat_grads = np.zeros(total, dtype=np.float32)
        offset = 0
        for v in variables:
            n = v.value.size
            self._flat_params[offset:offset + n] = v.value.reshape(-1)
            v.value = self._flat_params[offset:offset + n].reshape(v.shape)
            v.grad = self._flat_grads[offset:offset + n].reshape(v.shape)
            offset += n
        self._packed_ids = ids
        self._packed_sizes = [v.value.size for v in variables]

    # ---- one step ------------------------------------------------------------------
    def _loss_step(self, xs, y, weights, training):
        """Forward, loss and (when training) backward; returns (weighted loss sum, preds)."""
        if len(y) == 0:  # a rank's empty share of a last global batch smaller than the job
            if training:
                self._flat_grads.fill(0)
                for layer in self.layers:
                    layer.skip_batch()
            return 0.0, np.empty((0,) + tuple(self.output_shape[1:]), dtype=np.float32)
        fused = self._fused_layer
        if fused is not None:
            fused.defer_activation = True
        try:
            out = self.forward_graph(xs, training)[0]
            if fused is not None:
                per_sample, dout, preds = self.loss.forward_backward_logits(y, out)
            else:
                per_sample, dout = self.loss.forward_backward(y, out)
                preds = out
            if weights is not None:
                per_sample = per_sample * weights
                dout *= weights.reshape((-1,) + (1,) * (dout.ndim - 1))
            if training:
                self.backward_graph([dout])
        finally:
            if fused is not None:
                fused.defer_activation = False
        total = float(np.sum(per_sample))
        penalty = self._apply_regularizers(training)
        return total + penalty * len(y), preds

    # ---- weight regularizers and constraints (fastnn/regularizers.py, constraints.py) ---
    def _apply_regularizers(self, training):
        """Sum of the weights' regularization penalties (Keras adds it to each batch's
        loss); when training, each penalty's gradient is added to its weight's gradient."""
        penalty = 0.0
        for v in self.trainable_weights:
            if v.regularizer is not None:
                penalty += float(v.regularizer(v.value))
                if training:
                    v.grad += v.regularizer.gradient(v.value).astype(np.float32)
        return penalty

    def _apply_constraints(self):
        """Project each constrained weight after an optimizer step, as Keras does."""
        for v in self.trainable_weights:
            if v.constraint is not None:
                v.value[...] = v.constraint(v.value)

    @_interrupt.stops_at_batch_boundary
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns the batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        xs, y = self._prepare(x, y)
        self._pack_parameters()
        dist = distributed.strategy()
        dist.broadcast_state(self, once=True)
        w = data.sample_weights(y, class_weight, sample_weight)
        return self._batch_result(*self._train_batch(xs, y, w, dist.start_batch(len(y))), y,
                                  return_dict)

    def _train_batch(self, xs, y, w, global_count):
        total, preds = self._loss_step(xs, y, w, training=True)
        self.optimizer.variable_sizes = self._packed_sizes  # clipnorm clips each variable
        # data-parallel: the mean gradient over every rank's samples (one fused allreduce)
        distributed.strategy().average_gradients(self._flat_grads, len(y), global_count)
        self.optimizer.apply(self._flat_params, self._flat_grads)
        self._apply_constraints()
        return total, preds

    def _batch_result(self, total, preds, y, return_dict):
        for m in self._metrics:
            m.reset_state()
            m.update_state(y, preds)
        logs = self._means(total, len(y))  # data-parallel: over every rank's batch
        return logs if return_dict else (list(logs.values()) if len(logs) > 1 else logs["loss"])

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        xs, y = self._prepare(x, y)
        w = data.sample_weights(y, None, sample_weight)
        return self._batch_result(*self._loss_step(xs, y, w, training=False), y, return_dict)

    def predict_on_batch(self, x):
        return self._infer(x, training=False)

    def _infer(self, x, training):
        """Outputs for one batch (predict_on_batch, model(x)); an empty batch gives empty
        outputs, as in Keras."""
        xs = self._inputs(x)
        for a in xs:
            data.check_finite(a, "x")
        if data.check_cardinality(xs, None, allow_empty=True) == 0:
            outs = [np.zeros((0,) + tuple(t.shape[1:]), np.float32) for t in self.outputs]
        else:
            outs = [o.copy() for o in self.forward_graph(xs, training=bool(training))]
        return outs[0] if len(outs) == 1 else outs

    # ---- fit -------------------------------------------------------------------------
    @_interrupt.stops_at_batch_boundary  # Ctrl-C: KeyboardInterrupt between two steps
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train the model for a fixed number of epochs; returns a `History`."""
        self._require_compiled("fit")
        batch_size = data.check_batch_size(batch_size)
        data.check_fit_arguments(epochs, initial_epoch, steps_per_epoch, validation_freq)
        verbose = 1 if verbose == "auto" else verbose
        xs, y = self._prepare(x, y)
        w = data.sample_weights(y, class_weight, sample_weight)
        val = None
        if validation_data is not None:
            vx, vy, vw = data.unpack_validation_data(validation_data)
            val = self._prepare(vx, vy, what=" (validation_data)")
            val = val + (data.sample_weights(val[1], None, vw),)
        elif validation_split:
            arrays = xs + [y] + ([w] if w is not None else [])
            train, held = data.train_validation_split(arrays, validation_split)
            xs, y, w = train[:len(xs)], train[len(xs)], (train[-1] if w is not None else None)
            val = (held[:len(xs)], held[len(xs)], None)
        self._pack_parameters()
        dist = distributed.strategy()
        n = len(y)
        global_batch = batch_size * dist.size  # data-parallel: `batch_size` is per rank
        steps = -(-n // global_batch)
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0 and dist.is_chief, model=self,
            verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        self._initial_epoch = None
        cbs.on_train_begin()
        dist.broadcast_state(self)  # data-parallel: rank 0's weights, optimizer, RNG, epoch
        initial_epoch = self._initial_epoch or initial_epoch  # BackupAndRestore resumes here
        logs = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            order = random.generator().permutation(n) if shuffle else None
            logs = self._train_epoch(xs, y, w, order, global_batch, steps, cbs)
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_loop(val[0], val[1], val[2],
                                               validation_batch_size or batch_size, cbs)
                logs.update({"val_" + k: v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, logs)
            _interrupt.raise_if_pending()
            if self._should_stop():
                break
        cbs.on_train_end(logs)
        return self.history

    def _train_epoch(self, xs, y, w, order, batch_size, steps, cbs):
        dist = distributed.strategy()
        for m in self._metrics:
            m.reset_state()
        seen, loss_sum, logs = 0, 0.0, {}
        for step in range(steps):
            cbs.on_train_batch_begin(step)
            lo, hi = step * batch_size, min((step + 1) * batch_size, len(y))
            count = hi - lo
            lo, hi = dist.shard(lo, hi)  # this rank's slice of the global batch
            if order is None:
                bx, by = [a[lo:hi] for a in xs], y[lo:hi]
                bw = None if w is None else w[lo:hi]
            else:
                idx = order[lo:hi]
                bx = [self._gather.take(a, idx, i) for i, a in enumerate(xs)]
                by = self._gather.take(y, idx, "y")
                bw = None if w is None else w[idx]
            total, preds = self._train_batch(bx, by, bw, count)
            seen += hi - lo
            loss_sum += total
            for m in self._metrics:
                m.update_state(by, preds)
            logs = self._means(loss_sum, seen)
            cbs.on_train_batch_end(step, logs)
            _interrupt.raise_if_pending()
            if self._should_stop():
                break
        return dict(logs)

    def _means(self, loss_sum, seen):
        """Loss and metrics averaged over the samples seen; data-parallel, over every rank's."""
        dist = distributed.strategy()
        if not dist.active:
            return {"loss": loss_sum / seen, **{m.name: m.result_value() for m in self._metrics}}
        sums, results = metrics_module.results_over_ranks(self._metrics, dist, [loss_sum, seen])
        return {"loss": sums[0] / sums[1], **{m.name: r for m, r in zip(self._metrics, results)}}

    def _should_stop(self):
        """Whether to stop; data-parallel, every rank stops when any rank's callbacks asked."""
        self.stop_training = distributed.strategy().any(self.stop_training)
        return self.stop_training

    # ---- evaluate / predict -----------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on the data: a scalar, `[loss, *metrics]`, or a dict."""
        self._require_compiled("evaluate")
        batch_size = data.check_batch_size(batch_size)
        verbose = 1 if verbose == "auto" else verbose
        xs, y = self._prepare(x, y)
        w = data.sample_weights(y, None, sample_weight)
        dist = distributed.strategy()
        n_steps = -(-dist.shard_len(len(y)) // batch_size)
        cbs = CallbackList(callbacks, add_progbar=verbose != 0 and dist.is_chief, model=self,
                           verbose=verbose, epochs=1, steps=n_steps)
        logs = self._evaluate_loop(xs, y, w, batch_size, cbs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_loop(self, xs, y, w, batch_size, cbs):
        *xs, y, w = distributed.strategy().shard_arrays(xs + [y, w])  # data-parallel: a part each
        for m in self._metrics:
            m.reset_state()
        cbs.on_test_begin()
        seen, loss_sum, logs = 0, 0.0, {}
        for step in range(-(-len(y) // batch_size)):
            cbs.on_test_batch_begin(step)
            lo, hi = step * batch_size, min((step + 1) * batch_size, len(y))
            total, preds = self._loss_step([a[lo:hi] for a in xs], y[lo:hi],
                                           None if w is None else w[lo:hi], training=False)
            seen += hi - lo
            loss_sum += total
            for m in self._metrics:
                m.update_state(y[lo:hi], preds)
            logs = {"loss": loss_sum / seen, **{m.name: m.result_value() for m in self._metrics}}
            cbs.on_test_batch_end(step, logs)
            _interrupt.raise_if_pending()
        logs = self._means(loss_sum, seen)  # data-parallel: over every rank's part
        cbs.on_test_end(logs)
        return dict(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for the inputs, computed batch by batch (float32 arrays)."""
        batch_size = data.check_batch_size(batch_size)
        verbose = 1 if verbose == "auto" else verbose
        xs = self._inputs(x)
        n = data.check_cardinality(xs, None)
        for a in xs:
            data.check_finite(a, "x")
        n_steps = -(-n // batch_size)
        cbs = CallbackList(callbacks, add_progbar=verbose != 0 and distributed.is_chief(),
                           model=self, verbose=verbose, epochs=1, steps=n_steps)
        cbs.on_predict_begin()
        results = [allocate((n,) + tuple(t.shape[1:]), np.float32, f"Model '{self.name}'",
                            "its predictions", "predict on fewer samples at a time")
                   for t in self.outputs]
        for step in range(n_steps):
            cbs.on_predict_batch_begin(step)
            lo, hi = step * batch_size, min((step + 1) * batch_size, n)
            for r, o in zip(results, self.forward_graph([a[lo:hi] for a in xs], training=False)):
                r[lo:hi] = o
            cbs.on_predict_batch_end(step, {"outputs": results})
        cbs.on_predict_end()
        return results[0] if len(results) == 1 else results
