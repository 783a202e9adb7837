"""compile / fit / evaluate / predict with Keras's semantics.

The loops follow keras/src/trainers: `validation_split` takes the last fraction before
shuffling, steps per epoch = ceil(n / batch_size) with the last partial batch used,
`shuffle=True` reshuffles every epoch, logged values are running means over the epoch
weighted by batch size, and `evaluate` returns `[loss, *metrics]` (a scalar without
metrics).  A training step allocates nothing in steady state: batches are gathered
into reused buffers and each layer reuses its own.
"""
import numpy as np

from fastnn import _interrupt, distributed, random
from fastnn import team
from fastnn.autodiff import custom_steps, model_losses
from fastnn.callbacks.callback_list import CallbackList
from fastnn.models import compile_utils, data, data_adapters, dense_chain, graph
from fastnn.models.compiling import Compiling
from fastnn.models.evaluation import Evaluation
from fastnn.models.running_logs import RunningLogs


class Trainer(Compiling, Evaluation):
    _team = None  # during fit: the kernels' thread count when the user did not fix it
    _dense_step = None  # a small dense classifier's one-call step (dense_chain.py)
    _logits_outputs = frozenset()  # outputs whose loss is softmax cross-entropy on logits

    def __init__(self):
        self.optimizer = self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._metric_ids, self._outputs_spec = None, None
        self._weighted_metric_ids = None
        self._steps_per_execution = 1
        self._loss_id = self._loss_weights = None
        self._packed_ids = None
        self._gather = data.BatchGatherer()

    # ---- preparing data ----------------------------------------------------------------
    def _inputs(self, x, what="x"):
        if isinstance(x, dict):
            if not self._graph_built and type(self).call is Trainer._functional_call():
                raise ValueError(f"A dict `{what}` needs a model whose inputs are known: "
                                 f"build the model first")
            x = self._inputs_from_dict(x)
        items = data.as_list(x)
        if len(items) > 1 and self._expects_single_input() and \
                not any(isinstance(a, np.ndarray) for a in items):
            items = [x]  # nested Python lists: one array, as numpy reads them
        self._ensure_graph_for_strings(items)
        xs = [data.string_array(a, what) if self._string_input(i) else data.float_array(a, what)
              for i, a in enumerate(items)]
        for i, a in enumerate(xs):  # as Keras: texts (batch,) for an Input of shape (1,)
            if self._string_input(i) and a.ndim == len(self.inputs[i].shape) - 1 and \
                    self.inputs[i].shape[-1] == 1:
                xs[i] = a[..., None]
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

    def _string_input(self, i):
        """Whether model input i is raw text (keras.Input(..., dtype="string"))."""
        inputs = getattr(self, "inputs", None) if self._graph_built else None
        return bool(inputs) and i < len(inputs) and \
            getattr(inputs[i], "dtype", None) == "string"

    def _ensure_graph_for_strings(self, items):
        """A model not built yet cannot tell a string input: refuse text before it is."""
        if not self._graph_built and any(
                isinstance(a, np.ndarray) and a.dtype.kind in "USO" for a in items):
            raise ValueError(f"Model '{self.name}' received strings but its inputs are not "
                             f"known yet: start it with keras.Input(shape=(1,), "
                             f"dtype=\"string\") followed by a TextVectorization layer")

    def _specs(self):
        if self._outputs_spec is None:
            loss = self.loss if self.loss is not None else self._loss_id  # the same object
            self._outputs_spec = compile_utils.resolve(self, loss, self._loss_weights,
                                                       self._metric_ids,
                                                       self._weighted_metric_ids)
        return self._outputs_spec

    def _targets(self, y):
        """One prepared target array per output (None for an output without a loss)."""
        specs = self._specs()
        if y is None and all(s.loss is None for s in specs):  # only add_loss() terms
            return [None] * len(specs)
        if y is None:
            raise ValueError("Training and evaluating need targets: pass `y` (the labels) "
                             "along with `x`")
        specs = self._specs()
        names = self.output_names
        if isinstance(y, dict):
            unknown = sorted(set(y) - set(names))
            if unknown:
                raise ValueError(f"`y` has keys {unknown} that match no model output; the "
                                 f"model's outputs are {names}")
            ys = [y.get(n) for n in names]
        elif len(names) > 1:
            if not isinstance(y, (list, tuple)) or len(y) != len(names):
                raise ValueError(f"Model '{self.name}' has {len(names)} outputs {names}: pass "
                                 f"`y` as a list of {len(names)} arrays or a dict keyed by "
                                 f"output names")
            ys = list(y)
        else:
            ys = [y]
        out = []
        for spec, target in zip(specs, ys):
            if spec.loss is None:
                out.append(None)
                continue
            if target is None:
                raise ValueError(f"No target given for output '{spec.name}', which has a loss")
            what = "y" if len(names) == 1 else f"y['{spec.name}']"
            target = data.numeric_array(target, what, " Labels must be numbers (class "
                                        "indices or one-hot).")
            if target.ndim == 0:
                raise ValueError(f"`{what}` must have a batch dimension, received a scalar")
            shape = self.outputs[spec.index].shape
            out.append(spec.loss.prepare_targets(target, (len(target),) + tuple(shape[1:])))
        return out

    def _prepare(self, x, y, what=""):
        xs = self._inputs(x, "x" + what)
        ys = self._targets(y)
        data.check_cardinality(xs, ys)
        for a in xs:
            data.check_finite(a, "x" + what)
        for t in ys:
            if t is not None:
                data.check_finite(t, "y" + what)
        self._prepare_training_state()
        return xs, ys

    def _prepare_training_state(self):
        self._specs()
        self._fused_layers = self._find_fused_layers()
        # the plan the loss step runs: the fused output layers leave their activation out
        deferred = {id(l) for l in self._fused_layers.values()}
        self._logits_outputs = {s.index for s in self._outputs_spec if s.loss is not None and
                                getattr(s.loss, "from_logits", False) and
                                s.loss.fused_activation == "softmax"}
        self._loss_plan = [(graph.DeferredActivation(step), *rest) if id(step) in deferred
                           else (step, *rest) for step, *rest in self._plan]
        # custom layers (fastnn.autodiff) whose add_loss values join the logged loss
        self._tape_layers = [l for l in self.walk_layers() if getattr(l, "_tape_layer", False)]
        # looked up once per fit, not per step (a step's Python work stays a few us a layer)
        self._weights_regularized = self._regularized_weights()
        # built-in layers with an activity_regularizer (graph.ActivityRegularized steps)
        self._activity_steps = [s for s, *_ in self._plan
                                if isinstance(s, graph.ActivityRegularized)] + \
            model_losses.inner_activity_steps(self)  # inside Bidirectional
        self._weights_constrained = [v for v in self.trainable_weights
                                     if getattr(v, "constraint", None) is not None]
        layers = dense_chain.chain_layers(self)  # a small dense classifier: one kernel call
        kept = getattr(self, "_dense_step", None)
        if layers is None or kept is None or kept.layers != layers or \
                kept.spec.loss is not dense_chain.loss_of(self):
            self._dense_step = dense_chain.DenseChainStep(self, layers) if layers else None

    def _find_fused_layers(self):
        """{output index: output layer} whose activation the loss can take over (softmax +
        cross-entropy): the layer makes only that output and nothing else reads it."""
        found = {}
        for spec in self._outputs_spec:
            loss = spec.loss
            if loss is None or getattr(loss, "from_logits", True) or \
                    loss.fused_activation is None:
                continue
            tensor = self.outputs[spec.index]
            layer = tensor.node.layer
            act = getattr(layer, "activation", None)
            alone = (not self._output_read_by_layers(spec.index) and
                     len(layer._inbound_nodes) == 1 and
                     sum(t is tensor for t in self.outputs) == 1 and
                     any(step is layer for step, *_ in self._plan))
            if alone and getattr(layer, "can_defer_activation", False) and act is not None and \
                    act.name == loss.fused_activation:
                found[spec.index] = layer
        return found

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
        self._packed_variables = tuple(variables)  # the optimizer's layout key

    # ---- one step ------------------------------------------------------------------
    def _loss_step(self, xs, ys, weights, training):
        """Forward, losses and (when training) backward.  Returns (weighted total loss
        summed over the batch, each loss-bearing output's unweighted loss sum, predictions
        per output)."""
        specs = [s for s in self._outputs_spec if s.loss is not None]
        n = len(xs[0])
        if n == 0:  # a rank's empty share of a last global batch smaller than the job
            if training:
                self._flat_grads.fill(0)
                layers = self.walk_layers()
                for layer in layers:
                    layer.skip_batch()
                for layer in reversed(layers):  # synchronized BatchNormalization's backward
                    skip = getattr(layer, "skip_backward", None)
                    if skip is not None:
                        skip()
            return 0.0, [0.0] * len(specs), [
                np.empty((0,) + tuple(t.shape[1:]), dtype=np.float32) for t in self.outputs]
        if training and weights is None and self._dense_step is not None:
            done = self._dense_step.step(xs[0], ys[0])
            if done is not None:
                return done
        fused = self._fused_layers
        offset = distributed.strategy().batch_offset if training else 0
        outs = self.forward_graph(xs, training, self._loss_plan, batch_offset=offset)
        preds, douts = list(outs), [None] * len(outs)
        total, sums = 0.0, []
        masks = self._output_masks
        for spec in specs:
            k, y = spec.index, ys[spec.index]
            spec.loss.output_mask = None if masks is None else masks[k]
            try:
                if k in fused:
                    per_sample, dout, preds[k] = spec.loss.forward_backward_logits(y, outs[k])
                elif k in self._logits_outputs:  # from_logits=True: the fused path's kernels
                    per_sample, dout, _ = spec.loss.forward_backward_logits(y, outs[k])
                else:
                    per_sample, dout = spec.loss.forward_backward(y, outs[k])
            finally:
                spec.loss.output_mask = None
            wk = weights if weights is None or weights.ndim == 1 else weights[:, k]
            if wk is not None:
                per_sample = per_sample * wk
                dout *= wk.reshape((-1,) + (1,) * (dout.ndim - 1))
                rescale = spec.loss.weighted_scale(wk)  # mean_with_sample_weight
                if rescale != 1.0:
                    per_sample = per_sample * np.float32(rescale)
                    dout *= np.float32(rescale)
            if spec.weight != 1.0:
                dout *= np.float32(spec.weight)
            part = float(np.sum(per_sample))
            sums.append(part)
            total += spec.weight * part
            douts[k] = dout
        if training:
            self.backward_graph(douts, added_losses=True)
        if self._loss_slots:  # a subclassed model's add_loss() in call() (model_losses.py)
            total += sum(model_losses.added_loss_values(self)) * n
        if not specs:
            model_losses.check_some_loss(self)
        if self._tape_layers:  # add_loss terms (their gradients came from the layers' tapes)
            from fastnn.autodiff.layers import added_loss_total
            total += added_loss_total(self._tape_layers) * n
        total += self._apply_regularizers(training) * n
        for step in self._activity_steps:  # (their gradients went in through backward)
            total += step.penalty * n
        return total, sums, preds

    # ---- weight regularizers and constraints (fastnn/regularizers.py, constraints.py) ---
    def _regularized_weights(self):
        """Trainable weights with a regularizer, outside custom (tape) layers, whose own
        tapes add their weights' penalties."""
        tape_ids = {id(v) for layer in self._tape_layers for v in layer.weights}
        return [v for v in self.trainable_weights if id(v) not in tape_ids and
                getattr(v, "regularizer", None) is not None]

    def _apply_regularizers(self, training):
        """Sum of the weights' regularization penalties (Keras adds it to each batch's
        loss); when training, each penalty's gradient is added to its weight's gradient."""
        penalty = 0.0
        for v in self._weights_regularized:
            penalty += float(v.regularizer(v.value))
            if training:
                v.grad += np.asarray(v.regularizer.gradient(v.value), np.float32)
        return penalty

    def _apply_constraints(self):
        """Project each constrained weight after an optimizer step, as Keras does."""
        for v in self._weights_constrained:
            v.value[...] = v.constraint(v.value)

    @_interrupt.stops_at_batch_boundary
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on one batch; returns the batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        if custom_steps.overrides(self, "train_step"):
            return custom_steps.train_on_batch(self, x, y, sample_weight, return_dict)
        xs, ys = self._prepare(x, y)
        self._pack_parameters()
        dist = distributed.strategy()
        dist.broadcast_state(self, once=True)
        w = self._sample_weights(ys, class_weight, sample_weight)
        logs = RunningLogs(self._outputs_spec)
        total, sums, preds = self._train_batch(xs, ys, w, dist.start_batch(len(xs[0])))
        logs.add(total, sums, ys, preds, len(xs[0]), self._output_masks, w)
        return self._batch_result(logs, return_dict)

    def _sample_weights(self, ys, class_weight, sample_weight):
        y = next((t for t in ys if t is not None), None)
        if y is None:  # no compiled loss (add_loss() terms only): nothing to weigh
            return None
        if class_weight is not None and len(self.outputs) > 1:
            raise ValueError("`class_weight` is only supported for Models with a single output.")
        if isinstance(sample_weight, (dict, list, tuple)) and len(self.outputs) > 1:
            return data.per_output_weights(self.output_names, ys, y, sample_weight)
        return data.sample_weights(y, class_weight, sample_weight)

    def _train_batch(self, xs, ys, w, global_count):
        total, sums, preds = self._loss_step(xs, ys, w, training=True)
        # data-parallel: the mean gradient over every rank's samples (one fused allreduce)
        dist = distributed.strategy()
        dist.average_gradients(self._flat_grads, len(xs[0]), global_count)
        if dist.active:  # layer state that follows the batches (BatchNormalization's moving
            for layer in self.walk_layers():  # statistics) agrees across ranks
                sync = getattr(layer, "sync_batch_state", None)
                if sync is not None:
                    sync(dist)
        self.optimizer.apply(self._flat_params, self._flat_grads, self._packed_variables)
        self._apply_constraints()
        return total, sums, preds

    def _batch_result(self, running, return_dict):
        logs = running.logs()  # data-parallel: over every rank's batch
        return logs if return_dict else compile_utils.flatten_logs(logs, self._outputs_spec)

    # ---- fit -------------------------------------------------------------------------
    @_interrupt.stops_at_batch_boundary  # Ctrl-C: KeyboardInterrupt between two steps
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train the model for a fixed number of epochs; returns a `History`."""
        self._require_compiled("fit")
        if custom_steps.overrides(self, "train_step"):
            return custom_steps.fit(self, x, y, batch_size, epochs, verbose, callbacks,
                                    validation_split, validation_data, shuffle, sample_weight,
                                    initial_epoch, steps_per_epoch, validation_batch_size,
                                    validation_freq, class_weight)
        data.check_fit_arguments(epochs, initial_epoch, steps_per_epoch, validation_freq)
        data.check_steps(validation_steps, "validation_steps")
        val_batch_size = None if validation_batch_size is None else \
            data.check_batch_size(validation_batch_size, "validation_batch_size")
        verbose = 1 if verbose == "auto" else verbose
        source = None
        if data_adapters.is_source(x):  # a generator, PyDataset, Dataset, ...
            self._check_source_support(x, validation_split)
            source = data_adapters.get(x, y, sample_weight, steps_per_epoch, shuffle,
                                       class_weight, batch_size)
        else:
            batch_size = data.check_batch_size(batch_size)
            xs, ys = self._prepare(x, y)
            w = self._sample_weights(ys, class_weight, sample_weight)
        val_batch_size = val_batch_size or batch_size
        val = None
        if data_adapters.is_source(validation_data):
            self._check_source_support(validation_data, 0)
            val = data_adapters.get(validation_data, steps=validation_steps,
                                    what="validation_steps")
        elif validation_data is not None:
            vx, vy, vw = data.unpack_validation_data(validation_data)
            vxs, vys = self._prepare(vx, vy, what=" (validation_data)")
            val = (vxs, vys, self._sample_weights(vys, None, vw))
        elif validation_split:
            present = [t for t in ys if t is not None]
            arrays = xs + present + ([w] if w is not None else [])
            train, held = data.train_validation_split(arrays, validation_split)
            n_x = len(xs)
            xs, w = train[:n_x], (train[-1] if w is not None else None)
            val_ys, train_ys, j = [], [], n_x
            for t in ys:
                train_ys.append(None if t is None else train[j])
                val_ys.append(None if t is None else held[j])
                j += t is not None
            ys = train_ys
            val = (held[:n_x], val_ys, None)
        if self._graph_built:
            self._pack_parameters()
        dist = distributed.strategy()
        if source is not None:
            steps = source.steps_hint
        else:
            n = len(xs[0])
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
        if self._graph_built:
            dist.broadcast_state(self)  # data-parallel: rank 0's weights, optimizer, RNG, epoch
        initial_epoch = self._initial_epoch or initial_epoch  # BackupAndRestore resumes here
        logs = {}
        self._team = team.TeamSize() if team.adaptive() else None  # fewer threads when busy
        try:
            for epoch in range(initial_epoch, epochs):
                cbs.on_epoch_begin(epoch)
                if source is not None:
                    batches = self._source_batches(source, class_weight)
                else:
                    order = random.generator().permutation(n) if shuffle else None
                    batches = self._array_batches(xs, ys, w, order, global_batch, steps)
                epoch_logs = self._train_epoch(batches, cbs)
                if source is not None and source.ran_out:
                    self.stop_training = True
                    if not epoch_logs:  # nothing left to read: this epoch did not happen
                        break
                logs = epoch_logs
                if val is not None and (epoch + 1) % validation_freq == 0:
                    if isinstance(val, data_adapters.EpochIterator):
                        val_batches = self._source_batches(val, None)
                    else:
                        val_batches = self._array_eval_batches(*val, val_batch_size,
                                                               validation_steps)
                    val_logs = self._evaluate_loop(val_batches, cbs)
                    logs.update({"val_" + k: v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, logs)
                _interrupt.raise_if_pending()
                if self._should_stop():
                    break
        finally:
            if self._team is not None:
                self._team.close()
                self._team = None
            for it in (source, val):
                if isinstance(it, data_adapters.EpochIterator):
                    it.close()
        self.optimizer.finalize_variable_values(self._flat_params)  # use_ema: the averages
        cbs.on_train_end(logs)
        return self.history

    def _check_source_support(self, x, validation_split):
        if validation_split:
            raise ValueError(f"`validation_split` is only supported for Tensors or NumPy arrays, "
                             f"found following types in the input: {type(x)}")
        if distributed.strategy().active:
            raise NotImplementedError("fastnn's data-parallel training reads NumPy arrays: pass "
                                      f"arrays instead of a {type(x).__name__}")

    def _source_batches(self, source, class_weight, targets=True):
        """Prepared `(xs, ys, w, count)` batches of one epoch of a non-array source; the
        batch is named in the error when one is malformed.

        Once the model is built (by the first batch, at the latest), the data thread
        converts and checks each batch while the kernels run; until then (and for a batch
        it read before) this thread does."""
        def prepare(batch):
            x, y, sw = batch
            if not targets:
                xs = self._inputs(x)
                for a in xs:
                    data.check_finite(a, "x")
                return xs, None, None, data.check_cardinality(xs, None, allow_empty=True)
            xs, ys = self._inputs(x), self._targets(y)
            data.check_cardinality(xs, ys)
            for a in xs:
                data.check_finite(a, "x")
            for t in ys:
                if t is not None:
                    data.check_finite(t, "y")
            return xs, ys, self._sample_weights(ys, class_weight, sw), len(xs[0])

        def in_background(batch):  # in the data thread
            if not ready:
                return None
            try:
                return prepare(batch)
            except ValueError as exc:  # raised when the batch's turn comes
                return exc

        ready = []  # non-empty once the model is built and its training state set
        epoch = source.epoch(in_background)
        try:
            for step, (batch, prepared) in epoch:
                if prepared is None:
                    prepared = _prepare_here(prepare, batch)
                if isinstance(prepared, ValueError):
                    raise ValueError(f"Batch {step} of the {source.kind}: {prepared}") from None
                if not ready:
                    if targets:  # the first batch may have built the model
                        self._prepare_training_state()
                        self._pack_parameters()
                    ready.append(True)
                yield prepared
        finally:
            epoch.close()

    def _array_batches(self, xs, ys, w, order, batch_size, steps):
        dist = distributed.strategy()
        n = len(xs[0])
        for step in range(steps):
            lo, hi = step * batch_size, min((step + 1) * batch_size, n)
            count = hi - lo
            lo, hi = dist.shard(lo, hi)  # this rank's slice of the global batch
            if order is None:
                bx = [a[lo:hi] for a in xs]
                by = [None if t is None else t[lo:hi] for t in ys]
                bw = None if w is None else w[lo:hi]
            else:
                idx = order[lo:hi]
                bx = [self._gather.take(a, idx, i) for i, a in enumerate(xs)]
                by = [None if t is None else self._gather.take(t, idx, ("y", k))
                      for k, t in enumerate(ys)]
                bw = None if w is None else w[idx]
            yield bx, by, bw, count

    def _train_epoch(self, batches, cbs):
        running, logs = None, {}
        team = self._team
        if team is not None:
            team.begin_epoch()
        begin, end = cbs.listens("on_train_batch_begin"), cbs.listens("on_train_batch_end")
        # data-parallel: every rank computes the logs (an allreduce) on every step
        each_step = end or distributed.strategy().active
        try:
            for step, (bx, by, bw, count) in enumerate(batches):
                if running is None:  # after the first batch: a source may have built the model
                    running = RunningLogs(self._outputs_spec)
                if begin:
                    cbs.on_train_batch_begin(step)
                total, sums, preds = self._train_batch(bx, by, bw, count)
                running.add(total, sums, by, preds, len(bx[0]),  # this rank's samples
                            self._output_masks, bw)
                if each_step:
                    logs = running.logs()
                if end:
                    cbs.on_train_batch_end(step, logs)
                if team is not None:
                    team.after_step(count)
                _interrupt.raise_if_pending()
                if self._should_stop():
                    break
        finally:
            batches.close()
        if running is not None and not each_step:
            logs = running.logs()
        return dict(logs)

    def _should_stop(self):
        """Whether to stop; data-parallel, every rank stops when any rank's callbacks asked."""
        self.stop_training = distributed.strategy().any(self.stop_training)
        return self.stop_training


def _prepare_here(prepare, batch):
    try:
        return prepare(batch)
    except ValueError as exc:
        return exc
