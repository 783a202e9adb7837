"""evaluate, predict, test_on_batch and predict_on_batch: the Trainer's inference side,
with Keras's semantics (`evaluate` returns `[loss, *metrics]`, or a scalar without
metrics; `predict` runs batch by batch into preallocated outputs)."""
import numpy as np

from fastnn import _interrupt, distributed
from fastnn._validate import allocate
from fastnn.autodiff import custom_steps
from fastnn.callbacks.callback_list import CallbackList
from fastnn.models import compile_utils, data, data_adapters
from fastnn.models.running_logs import RunningLogs


class Evaluation:
    """Mixed into Trainer: uses its `_prepare`, `_loss_step` and `_source_batches`."""

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        if custom_steps.overrides(self, "test_step"):
            return custom_steps.evaluate(self, x, y, None, 0, sample_weight, 1, None,
                                         return_dict)
        xs, ys = self._prepare(x, y)
        w = self._sample_weights(ys, None, sample_weight)
        logs = RunningLogs(self._outputs_spec)
        total, sums, preds = self._loss_step(xs, ys, w, training=False)
        logs.add(total, sums, ys, preds, len(xs[0]), self._output_masks, w)
        return self._batch_result(logs, return_dict)

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
        return self._structure_outputs(outs)

    # ---- evaluate / predict -----------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metrics on the data: a scalar, `[loss, *metrics]`, or a dict."""
        if kwargs:
            raise TypeError(f"evaluate() got unexpected keyword arguments {sorted(kwargs)}")
        self._require_compiled("evaluate")
        if custom_steps.overrides(self, "test_step"):
            return custom_steps.evaluate(self, x, y, batch_size, verbose, sample_weight, steps,
                                         callbacks, return_dict)
        data.check_steps(steps, "steps")
        verbose = 1 if verbose == "auto" else verbose
        dist = distributed.strategy()
        if data_adapters.is_source(x):  # a generator, PyDataset, Dataset, ...
            self._check_source_support(x, 0)
            source = data_adapters.get(x, y, sample_weight, steps, batch_size=batch_size,
                                       what="steps")
            batches, n_steps = self._source_batches(source, None), source.steps_hint
        else:
            batch_size = data.check_batch_size(batch_size)
            xs, ys = self._prepare(x, y)
            w = self._sample_weights(ys, None, sample_weight)
            n_steps = -(-dist.shard_len(len(xs[0])) // batch_size)
            if steps is not None:
                n_steps = min(n_steps, steps)
            batches = self._array_eval_batches(xs, ys, w, batch_size, steps)
        cbs = CallbackList(callbacks, add_progbar=verbose != 0 and dist.is_chief, model=self,
                           verbose=verbose, epochs=1, steps=n_steps)
        try:
            logs = self._evaluate_loop(batches, cbs)
        finally:
            if data_adapters.is_source(x):
                source.close()  # with `steps`, its reader thread outlives the epoch
        if return_dict:
            return logs
        return compile_utils.flatten_logs(logs, self._outputs_spec)

    def _array_eval_batches(self, xs, ys, w, batch_size, steps=None):
        *parts, w = distributed.strategy().shard_arrays(xs + ys + [w])  # data-parallel: a part each
        xs, ys = parts[:len(xs)], parts[len(xs):]
        n = len(xs[0])
        n_steps = -(-n // batch_size)
        if steps is not None:
            n_steps = min(n_steps, steps)
        for step in range(n_steps):
            lo, hi = step * batch_size, min((step + 1) * batch_size, n)
            yield ([a[lo:hi] for a in xs], [None if t is None else t[lo:hi] for t in ys],
                   None if w is None else w[lo:hi], hi - lo)

    def _evaluate_loop(self, batches, cbs):
        cbs.on_test_begin()
        running, logs = None, {}
        try:
            for step, (bx, by, bw, count) in enumerate(batches):
                if running is None:
                    running = RunningLogs(self._outputs_spec)
                cbs.on_test_batch_begin(step)
                total, sums, preds = self._loss_step(bx, by, bw, training=False)
                running.add(total, sums, by, preds, count, self._output_masks, bw)
                logs = running.logs(local=True)
                cbs.on_test_batch_end(step, logs)
                _interrupt.raise_if_pending()
        finally:
            batches.close()
        if running is None:  # data-parallel: a rank whose part is empty still joins the sums
            running = RunningLogs(self._specs())
        logs = running.logs()  # data-parallel: over every rank's part
        cbs.on_test_end(logs)
        return dict(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for the inputs, computed batch by batch (float32 arrays)."""
        if custom_steps.overrides(self, "predict_step"):
            return custom_steps.predict(self, x, batch_size, verbose, steps, callbacks)
        data.check_steps(steps, "steps")
        verbose = 1 if verbose == "auto" else verbose
        if data_adapters.is_source(x):  # a generator, PyDataset, Dataset, ...
            return self._predict_source(x, batch_size, verbose, steps, callbacks)
        batch_size = data.check_batch_size(batch_size)
        xs = self._inputs(x)
        n = data.check_cardinality(xs, None)
        for a in xs:
            data.check_finite(a, "x")
        n_steps = -(-n // batch_size)
        if steps is not None and steps < n_steps:
            n_steps, n = steps, min(n, steps * batch_size)
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
            # as Keras: this batch's outputs, in the model's output structure
            cbs.on_predict_batch_end(
                step, {"outputs": self._structure_outputs([r[lo:hi] for r in results])})
        cbs.on_predict_end()
        return self._structure_outputs(results)

    def _predict_source(self, x, batch_size, verbose, steps, callbacks):
        """predict() on a generator, PyDataset or dataset: the outputs of every batch, joined."""
        self._check_source_support(x, 0)
        source = data_adapters.get(x, steps=steps, batch_size=batch_size, what="steps")
        cbs = CallbackList(callbacks, add_progbar=verbose != 0 and distributed.is_chief(),
                           model=self, verbose=verbose, epochs=1, steps=source.steps_hint)
        cbs.on_predict_begin()
        parts = None
        batches = self._source_batches(source, None, targets=False)
        try:
            for step, (bx, _, _, count) in enumerate(batches):
                if parts is None:
                    parts = [[] for _ in self.outputs]
                cbs.on_predict_batch_begin(step)
                outs = self.forward_graph(bx, training=False) if count else \
                    [np.zeros((0,) + tuple(t.shape[1:]), np.float32) for t in self.outputs]
                for p, o in zip(parts, outs):
                    p.append(o.copy())
                cbs.on_predict_batch_end(
                    step, {"outputs": self._structure_outputs([p[-1] for p in parts])})
        finally:
            batches.close()
            source.close()
        cbs.on_predict_end()
        if parts is None:
            raise ValueError("predict() received no batches from the "
                             f"{source.kind}: it yielded nothing")
        return self._structure_outputs([np.concatenate(p) for p in parts])
