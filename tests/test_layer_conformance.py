"""Every registered layer through the conformance harness (tests/layer_harness.py), one
parametrized row per case from tests/layer_cases/, and the tripwires that catch a layer,
kernel or twin added without its row."""
import importlib
import os
import pkgutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import layer_cases  # noqa: E402
import layer_harness as harness  # noqa: E402

import fastnn.layers  # noqa: E402,F401
import fastnn.models  # noqa: E402,F401
from fastnn.layers.layer import LAYERS  # noqa: E402

CASES = [case for mod in pkgutil.iter_modules(layer_cases.__path__)
         for case in importlib.import_module(f"layer_cases.{mod.name}").CASES]
IDS = [c.id for c in CASES]
# Registered classes that are not layers of their own: tested by the model tests.
NOT_LAYERS = {"InputLayer", "Model", "Functional", "Sequential",
              # tokens in, no gradients: tests/test_text_vectorization.py, test_lookup_layers.py
              "TextVectorization", "StringLookup", "IntegerLookup"}


def test_case_ids_are_unique():
    assert len(set(IDS)) == len(IDS), sorted(i for i in IDS if IDS.count(i) > 1)


def test_every_registered_layer_has_a_row():
    covered = {type(case.make()).__name__ for case in CASES}
    missing = {name for name, cls in LAYERS.items()
               if name == cls.__name__ and name not in NOT_LAYERS} - covered
    assert not missing, f"layers without a conformance row in tests/layer_cases/: {missing}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_and_gradients(case, rng):
    harness.check_forward_and_gradients(case, rng)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_round_trip(case, rng):
    harness.check_config_round_trip(case, rng)


@pytest.mark.parametrize("case", [c for c in CASES if c.file_round_trip],
                         ids=[c.id for c in CASES if c.file_round_trip])
def test_keras_file_round_trip_and_summary(case, rng, tmp_path):
    harness.check_file_round_trip(case, rng, tmp_path)


@pytest.mark.parametrize("case", [c for c in CASES if c.bad], ids=[c.id for c in CASES if c.bad])
def test_bad_inputs(case):
    harness.check_bad_inputs(case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_thread_count_independence(case, rng):
    harness.check_thread_independence(case, rng)
