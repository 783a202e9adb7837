"""utils.pad_sequences against Keras's documented semantics (and, where installed,
Keras itself on the same inputs)."""
import json
import os
import subprocess

import numpy as np
import pytest

from fastnn.utils import pad_sequences

TF_PYTHON = "/work/tfvenv/bin/python"
CASES = [
    ([[1, 2, 3], [4], []], {}),
    ([[1, 2, 3], [4], [5, 6, 7, 8]], {"maxlen": 2}),
    ([[1, 2, 3], [4], [5, 6, 7, 8]], {"maxlen": 3, "padding": "post"}),
    ([[1, 2, 3], [4], [5, 6, 7, 8]], {"maxlen": 3, "truncating": "post"}),
    ([[1, 2, 3], [4]], {"maxlen": 5, "padding": "post", "truncating": "post", "value": -1}),
    ([[1.5, 2.5], [3.5]], {"dtype": "float32", "value": 0.5}),
    ([[[1, 2], [3, 4]], [[5, 6]]], {"maxlen": 3}),
]


def test_pad_sequences_cases():
    np.testing.assert_array_equal(pad_sequences(*[CASES[0][0]]), [[1, 2, 3], [0, 0, 4], [0, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(CASES[1][0], maxlen=2), [[2, 3], [0, 4], [7, 8]])
    np.testing.assert_array_equal(pad_sequences(CASES[2][0], maxlen=3, padding="post"),
                                  [[1, 2, 3], [4, 0, 0], [6, 7, 8]])
    np.testing.assert_array_equal(pad_sequences(CASES[3][0], maxlen=3, truncating="post"),
                                  [[1, 2, 3], [0, 0, 4], [5, 6, 7]])
    out = pad_sequences(*[CASES[5][0]], dtype="float32", value=0.5)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1.5, 2.5], [0.5, 3.5]])
    assert pad_sequences([[1]]).dtype == np.int32
    assert pad_sequences(CASES[6][0], maxlen=3).shape == (2, 3, 2)
    assert pad_sequences([["a", "bc"]], maxlen=3, dtype=object, value="").tolist() == \
        [["", "a", "bc"]]


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="Padding type"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="Truncating type"):
        pad_sequences([[1]], truncating="middle")
    with pytest.raises(ValueError, match="must be a list of iterables"):
        pad_sequences([1, 2])
    with pytest.raises(ValueError, match="is not compatible with `value`'s type"):
        pad_sequences([[1]], value="x")
    with pytest.raises(ValueError, match="different from expected shape"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])


@pytest.mark.skipif(not os.path.exists(TF_PYTHON), reason="needs Keras in /work/tfvenv")
def test_pad_sequences_matches_keras():
    script = ("import json, sys, numpy as np, keras\n"
              "cases = json.loads(sys.argv[1])\n"
              "print(json.dumps([keras.utils.pad_sequences(s, **k).tolist() for s, k in cases]))")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    res = subprocess.run([TF_PYTHON, "-c", script, json.dumps(CASES)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    for (seqs, kw), want in zip(CASES, json.loads(res.stdout.strip().splitlines()[-1])):
        np.testing.assert_array_equal(pad_sequences(seqs, **kw), np.array(want))
