"""clone_model and model_from_json: new models with the same architecture, new weights."""
import json

from fastnn.layers.input_layer import Input
from fastnn.models.model import Model
from fastnn.models.sequential import Sequential


def _fresh_copy(layer):
    return type(layer).from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, **kwargs):
    """A new model with `model`'s architecture and freshly initialized weights, like Keras.

    Args:
        model: a Sequential or Functional model (subclassed models are rebuilt with
            `from_config(get_config())`).
        input_tensors: optional list of `Input` tensors for a Functional clone.
        clone_function: `layer -> new layer`; defaults to a fresh layer from the config.

    To copy the weights too: `clone.set_weights(model.get_weights())`.
    """
    if kwargs:
        raise TypeError(f"clone_model() got unexpected keyword arguments {sorted(kwargs)}")
    if not isinstance(model, Model):
        raise ValueError(f"Expected `model` to be a fastnn Model instance, received "
                         f"{type(model).__name__}")
    clone = clone_function or _fresh_copy
    if isinstance(model, Sequential):
        new = Sequential(name=model.name, trainable=model.trainable)
        if model._input_shape is not None:
            new.add(Input(batch_shape=model._input_shape, name=model._input_layer_name()))
        for layer in model.layers:
            new.add(clone(layer))
        return new
    if type(model) is not Model:
        return type(model).from_config(model.get_config())
    if input_tensors is not None:
        inputs = list(input_tensors) if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        if len(inputs) != len(model.inputs):
            raise ValueError(f"clone_model: the model has {len(model.inputs)} inputs, but "
                             f"{len(inputs)} input_tensors were given")
    else:
        inputs = [Input(batch_shape=t.shape, name=t.node.layer.name) for t in model.inputs]
    tensors = {id(old): new for old, new in zip(model.inputs, inputs)}
    for node in model._nodes:
        args = [tensors[id(t)] for t in node.inputs]
        tensors[id(node.outputs[0])] = clone(node.layer)(args if len(args) > 1 else args[0])
    outputs = [tensors[id(t)] for t in model.outputs]
    return Model(inputs=inputs if len(inputs) > 1 else inputs[0],
                 outputs=outputs if len(outputs) > 1 else outputs[0], name=model.name)


def model_from_json(json_string, custom_objects=None):
    """A new model from `model.to_json()` (fastnn's or Keras's), with fresh weights."""
    from fastnn.saving.serialization import deserialize_model
    try:
        config = json.loads(json_string)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"model_from_json: not valid JSON ({exc})") from exc
    return deserialize_model(config, custom_objects)
