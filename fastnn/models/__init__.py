"""Keras-compatible models: `from fastnn.models import Sequential, Model, load_model`."""
from fastnn.models.cloning import clone_model, model_from_json
from fastnn.models.model import Model
from fastnn.models.sequential import Sequential
from fastnn.saving import load_model, save_model

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]
