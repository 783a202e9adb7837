"""The logs of fit, evaluate and train_on_batch: running means over the batches seen."""
import numpy as np

from fastnn import distributed, metrics as metrics_module
from fastnn.models import compile_utils


class RunningLogs:
    """Running means over an epoch of the loss, each output's loss and the metrics,
    weighted by batch size; data-parallel, `logs()` sums over every rank's samples."""

    def __init__(self, specs):
        self.specs = specs
        self.loss_specs = [s for s in specs if s.loss is not None]
        self.metrics = [(key, m, s.index) for s in specs for key, m in s.metrics]
        self.weighted = {key for s in specs for key in s.weighted_keys}
        for _, m, _ in self.metrics:
            m.reset_state()
        self.seen, self.loss_sum = 0, 0.0
        self.sums = [0.0] * len(self.loss_specs)
        self.keys = compile_utils.log_keys(specs)

    def add(self, total, sums, ys, preds, count, masks=None, weights=None):
        """`masks`: the outputs' Keras masks (None, or one per output), which weigh the
        mean metrics (MeanMetricWrapper's, as in Keras; the others ignore them);
        `weights`: the batch's sample (and class) weights, for the weighted metrics."""
        self.seen += count
        self.loss_sum += total
        for i, v in enumerate(sums):
            self.sums[i] += v
        for key, m, k in self.metrics:
            if ys[k] is None:
                continue
            w = weights if key in self.weighted else None
            if w is not None and np.ndim(w) == 2:  # per-output weights: this output's
                w = w[:, k]
            mask = None if masks is None else masks[k]
            if mask is not None and isinstance(m, metrics_module.MeanMetricWrapper):
                w = mask if w is None else \
                    np.asarray(w).reshape((-1,) + (1,) * (mask.ndim - 1)) * mask
            if w is None:
                m.update_state(ys[k], preds[k])
            else:
                m.update_state(ys[k], preds[k], sample_weight=w)

    def logs(self, local=False):
        dist = distributed.strategy()
        if local or not dist.active:
            seen = self.seen or 1
            values = {"loss": self.loss_sum / seen}
            for s, v in zip(self.loss_specs, self.sums):
                if s.loss_key:
                    values[s.loss_key] = v / seen
            values.update({key: m.result_value() for key, m, _ in self.metrics})
        else:
            # one allreduce: the loss sums and every metric's state variables
            totals, results = metrics_module.results_over_ranks(
                [m for _, m, _ in self.metrics], dist, [self.loss_sum, self.seen] + self.sums)
            seen = totals[1] or 1
            values = {"loss": totals[0] / seen}
            for s, v in zip(self.loss_specs, totals[2:2 + len(self.sums)]):
                if s.loss_key:
                    values[s.loss_key] = v / seen
            for (key, _, _), r in zip(self.metrics, results):
                values[key] = r
        # Keras 3 sorts its logs and reports float32 results as Python floats
        return {k: python_value(values[k]) for k in sorted(self.keys)}


def python_value(value):
    """A scalar result as the Python float of its float32 value (as Keras 3 reports it);
    an array result (F1Score(average=None), ...) as it is."""
    return float(np.float32(value)) if np.ndim(value) == 0 else value
