"""compile and what it configures, with Keras's semantics: the optimizer (default
"rmsprop"), the loss or losses and their weights, the metrics, get_compile_config /
compile_from_config, and Keras's customization points (train_step, compute_loss, ...)."""
from fastnn import losses, metrics as metrics_module, optimizers
from fastnn.autodiff import custom_steps, model_losses


class Compiling:
    """Mixed into Trainer."""

    # ---- compile ---------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configure the model for training: optimizer (default "rmsprop"), loss (one, a
        list or a dict keyed by output names), loss_weights, metrics (unweighted) and
        weighted_metrics (given the sample and class weights)."""
        if weighted_metrics is not None and not isinstance(weighted_metrics, (list, tuple, dict)):
            raise ValueError(f"Expected `weighted_metrics` argument to be a list, tuple, or "
                             f"dict. Received instead: weighted_metrics={weighted_metrics!r} of "
                             f"type {type(weighted_metrics)}")
        if isinstance(steps_per_execution, bool) or \
                not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ValueError(f"`steps_per_execution` must be a positive integer, received "
                             f"steps_per_execution={steps_per_execution!r}")
        # Keras runs n steps per call of its compiled function; fastnn's steps are C calls
        # already, so n only groups the batch callbacks as Keras calls them
        self._steps_per_execution = steps_per_execution
        self.optimizer = optimizers.get(optimizer)
        if loss is not None and not isinstance(loss, (list, tuple, dict)):
            losses.get(loss).check_trainable()  # an unknown loss fails here, as in Keras
        elif isinstance(loss, (list, tuple, dict)):
            for l in (loss.values() if isinstance(loss, dict) else loss):
                if l is not None:
                    losses.get(l).check_trainable()
        self.loss = None if loss is None or isinstance(loss, (list, tuple, dict)) \
            else losses.get(loss)
        self._loss_id, self._loss_weights = loss, loss_weights
        if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
            raise ValueError(f"Expected `metrics` to be a list or a dict, received "
                             f"{type(metrics).__name__}")
        self._metric_ids = metrics
        self._weighted_metric_ids = weighted_metrics or None
        self._outputs_spec = None
        self.compiled = True

    def get_compile_config(self):
        """What `compile()` was given, as Keras writes it in a `.keras` file."""
        if not self.compiled:
            return None

        def loss_entry(l):
            return l if l is None or isinstance(l, str) else losses.serialize(losses.get(l))

        def metric_entry(m):
            if isinstance(m, (list, tuple)):
                return [metric_entry(x) for x in m]
            if isinstance(m, metrics_module.Metric):
                return metrics_module.serialize(m)  # restored as the same object
            return m if m is None or isinstance(m, str) else getattr(m, "name", str(m))

        loss = self._loss_id
        if isinstance(loss, dict):
            loss = {k: loss_entry(v) for k, v in loss.items()}
        elif isinstance(loss, (list, tuple)):
            loss = [loss_entry(v) for v in loss]
        else:
            loss = loss_entry(loss)
        def metrics_entry(metrics):
            if isinstance(metrics, dict):
                return {k: metric_entry(v) for k, v in metrics.items()}
            return None if metrics is None else metric_entry(metrics) or None

        metrics, weighted = metrics_entry(self._metric_ids), \
            metrics_entry(self._weighted_metric_ids)
        weights = self._loss_weights
        return {"optimizer": optimizers.serialize(self.optimizer), "loss": loss,
                "loss_weights": list(weights) if isinstance(weights, tuple) else weights,
                "metrics": metrics, "weighted_metrics": weighted,
                "run_eagerly": False,
                "steps_per_execution": getattr(self, "_steps_per_execution", 1),
                "jit_compile": False}

    def compile_from_config(self, config):
        """`compile()` with the arguments of `get_compile_config()`'s output."""
        if not isinstance(config, dict):
            raise ValueError(f"compile_config must be a dict, received {str(config)[:200]}")
        def metric_id(m):
            if isinstance(m, list):
                return [metric_id(x) for x in m]
            if isinstance(m, dict) and "class_name" in m:  # a metric object's config
                return metrics_module.deserialize_or_name(m)
            return m

        def loss_obj(entry):  # Keras writes loss objects as {"class_name", "config"} dicts
            return losses.get(entry) if isinstance(entry, dict) else entry

        def metric_ids(metrics):
            if isinstance(metrics, dict):
                return {k: metric_id(v) for k, v in metrics.items()}
            return metric_id(metrics) if isinstance(metrics, list) else metrics

        metrics, weighted = metric_ids(config.get("metrics")), \
            metric_ids(config.get("weighted_metrics"))
        loss = config.get("loss")
        if isinstance(loss, dict) and "class_name" in loss:
            loss = loss_obj(loss)
        elif isinstance(loss, dict):
            loss = {k: loss_obj(v) for k, v in loss.items()}
        elif isinstance(loss, list):
            loss = [loss_obj(v) for v in loss]
        self.compile(optimizer=optimizers.get(config.get("optimizer") or "rmsprop"),
                     loss=loss, loss_weights=config.get("loss_weights"), metrics=metrics,
                     weighted_metrics=weighted,
                     steps_per_execution=config.get("steps_per_execution") or 1)

    @property
    def metrics_names(self):
        """Keras 3's names: "loss", "compile_metrics" when `compile` got `metrics`, then
        each output's loss once a multi-output model has seen data (not the log keys)."""
        if not self.compiled:
            return []
        given = self._metric_ids is not None or self._weighted_metric_ids is not None
        names = ["loss"] + (["compile_metrics"] if given else [])
        return names + [s.loss_key for s in self._outputs_spec or () if s.loss_key]

    @staticmethod
    def _functional_call():
        from fastnn.models.model import Model
        return Model.call

    def _require_compiled(self, method):
        if not self.compiled:
            raise ValueError(f"You must call `compile()` before calling `{method}()`.")
        step = "train_step" if method in ("fit", "train_on_batch") else "test_step"
        custom = custom_steps.overrides(self, step)  # fastnn.autodiff runs overridden steps
        if self._loss_id is None and not custom and not model_losses.may_add_losses(self):
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")

    # Keras's customization points: train_step / test_step / predict_step overrides run in
    # fit / evaluate / predict (fastnn.autodiff.custom_steps).
    @property
    def metrics(self):
        """Keras's `model.metrics`: a "loss" tracker, then the compiled metrics."""
        return custom_steps.model_metrics(self)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics (weighted ones with `sample_weight`); returns every
        metric's result by name, as Keras's does (for custom train/test steps)."""
        return custom_steps.compute_metrics(self, x, y, y_pred, sample_weight)

    def get_metrics_result(self):
        """{name: result} of `model.metrics`."""
        return custom_steps.get_metrics_result(self)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus the layers' add_loss terms (differentiable on a tape)."""
        return custom_steps.compute_loss(self, x, y, y_pred, sample_weight, training)

    def train_step(self, data):
        raise NotImplementedError("fastnn runs its own fused training step")

    def test_step(self, data):
        raise NotImplementedError("fastnn runs its own fused evaluation step")

    def predict_step(self, data):
        """Keras's default: the model on the batch's x, in inference mode (an override's
        `super().predict_step(data)`)."""
        x, _, _ = custom_steps.unpack_x_y_sample_weight(data)
        return self(x, training=False)
