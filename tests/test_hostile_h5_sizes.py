"""HDF5 decompression bombs: a deflated dataset may expand ~1000x legitimately, so the
per-dataset ratio bound alone lets a 17 MB weights file (or a ~20 KB .keras that holds
it) declare 17 GB.  The reader also caps the total bytes it will read, across datasets,
at files.max_weights_bytes() (16 GiB, or the machine's memory if less), before reading
any of them."""
import os
import subprocess
import sys
import tempfile
import zlib

import h5py
import numpy as np
import pytest

from fastnn import layers, models
from fastnn.saving import files, h5_reader
from conftest import subprocess_env

CHUNK = 1 << 20  # float32 values per chunk: 4 MiB, deflated to ~4 KB
ZEROS = zlib.compress(np.zeros(CHUNK, np.float32).tobytes(), 9)


def deflated_zeros(path, datasets):
    """A weights file whose datasets ({name: chunks}) are gzip-chunked zeros, written
    chunk by chunk (nothing of the declared size is ever in memory here)."""
    with h5py.File(path, "w") as h5:
        for name, chunks in datasets.items():
            ds = h5.create_dataset(name, shape=(chunks * CHUNK,), dtype="<f4",
                                   chunks=(CHUNK,), compression="gzip")
            for i in range(chunks):
                ds.id.write_direct_chunk((i * CHUNK,), ZEROS)
        h5.create_group("vars")


def test_each_dataset_within_the_ratio_but_too_much_in_total(tmp_path, monkeypatch):
    path = tmp_path / "two.weights.h5"
    deflated_zeros(path, {"layers/dense/vars/0": 3, "layers/dense/vars/1": 3})
    data = path.read_bytes()
    assert len(data) < 64 << 10  # 24 MiB declared in a few KB
    monkeypatch.setattr(files, "max_weights_bytes", lambda: 16 << 20)
    with pytest.raises(ValueError, match=r"declare 25165824 bytes in total.*16777216"):
        h5_reader.parse(data, "two.weights.h5")
    monkeypatch.setattr(files, "max_weights_bytes", lambda: 32 << 20)
    stored = h5_reader.parse(data, "two.weights.h5")  # under the cap: read, all zeros
    assert [a.shape for a in stored.groups["layers/dense/vars"]] == [(3 * CHUNK,)] * 2


BOMB = r"""
import os, resource, sys
if "libasan" not in os.environ.get("LD_PRELOAD", ""):  # ASan reserves terabytes
    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))
from fastnn import layers, models
model = models.Sequential([layers.Input((4,)), layers.Dense(3)])
try:
    if sys.argv[1].endswith(".keras"):
        models.load_model(sys.argv[1])
    else:
        model.load_weights(sys.argv[1])
except ValueError as e:
    print("ValueError", e)
"""


@pytest.mark.parametrize("kind", ["weights.h5", "keras"])
def test_a_17_gb_declaration_is_refused_under_a_memory_limit(tmp_path, kind):
    """4097 chunks: 16 GiB + 4 MiB declared in 17 MB (a deflated .keras: ~40 KB).  Without
    the total cap the reader allocates 16 GiB (MemoryError here; an OOM kill, or pages
    filled with zeros for minutes, without the limit)."""
    h5 = tmp_path / "bomb.weights.h5"
    deflated_zeros(h5, {"layers/dense/vars/0": 4097})
    path = h5
    if kind == "keras":
        import zipfile
        path = tmp_path / "bomb.keras"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("metadata.json", "{}")
            z.writestr("config.json", '{"class_name": "Sequential", "config": {"layers": []}}')
            z.write(h5, "model.weights.h5")
        assert os.path.getsize(path) < 1 << 20
    out = subprocess.run([sys.executable, "-c", BOMB, str(path)], capture_output=True,
                         text=True, timeout=300, env=subprocess_env(),
                         cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ValueError"), out.stdout + out.stderr[-2000:]
    assert "bytes in total" in out.stdout or "decompression bomb" in out.stdout, out.stdout
