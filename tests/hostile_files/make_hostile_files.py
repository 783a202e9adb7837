"""Generate the hostile files in this folder (tests/test_hostile_files.py loads each one).

    python tests/hostile_files/make_hostile_files.py

Each file is a small, valid-looking fastnn/Keras file with one hostile or damaged part:
HDF5 features that read other files (external storage, virtual datasets, soft and external
links), size bombs (a chunked dataset that declares far more than it stores, zip members
that inflate far beyond their stored size), and optimizer states or values that would
break training.  `CASES` lists (file name, the error's expected words); every one of
them must be refused with a ValueError and leave the model unchanged.
"""
import bz2
import io
import json
import os
import struct
import zipfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = [
    ("external_storage.weights.h5", "Not allowed: H5 file with external Dataset"),
    ("external_fifo.weights.h5", "Not allowed: H5 file with external Dataset"),
    ("virtual_dataset.weights.h5", "Not allowed: H5 file with virtual Dataset"),
    ("soft_link.weights.h5", "Not allowed: H5 file with SoftLink"),
    ("external_link.weights.h5", "Not allowed: H5 file with ExternalLink"),
    ("shape_bomb.weights.h5", "declares .* bytes .* only .* stored"),
    ("unfiltered_fill_value.weights.h5", "declares .* bytes .* only .* stored"),
    ("lzf_filter.weights.h5", "filters"),
    ("string_dtype.weights.h5", "dtype"),
    ("compound_dtype.weights.h5", "dtype"),
    ("null_dataspace.weights.h5", "null dataspace"),
    ("bad_checksum.weights.h5", "damaged|checksum"),
    ("float64_overflow.weights.h5", "too large for float32"),
    ("nan_learning_rate.weights.h5", "learning rate"),
    ("huge_learning_rate.weights.h5", "learning rate"),
    ("nan_iterations.weights.h5", "iterations"),
    ("huge_iterations.weights.h5", "iterations"),
    ("negative_iterations.weights.h5", "iterations"),
    ("nan_moment.weights.h5", "NaN"),
    ("negative_second_moment.weights.h5", ">= 0"),
    ("wrong_shape.weights.h5", "shape"),
    ("not_hdf5.weights.h5", "not a valid HDF5"),
    ("truncated.weights.h5", "not a valid HDF5|damaged"),
    ("zip_bomb.keras", "decompression bomb"),
    ("zip_lies_about_size.keras", "size it claims|cannot read"),
    ("shape_bomb.keras", "declares .* bytes .* only .* stored"),
    ("config_bomb.keras", "more than the weights file holds"),
    ("not_zip.keras", "not a zip archive"),
]


def base_model():
    """Dense(3) on 4 features, compiled with Adam and stepped twice (slots exist)."""
    from fastnn import layers, models, optimizers
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, name="dense")])
    model.set_weights([np.arange(12, dtype=np.float32).reshape(4, 3) / 10,
                       np.array([0.1, 0.2, 0.3], np.float32)])
    model.compile(optimizers.Adam(0.01), "mse")
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(8, 4)
    model.fit(x, np.ones((8, 3), np.float32), batch_size=4, epochs=1, shuffle=False, verbose=0)
    return model


def _base_bytes(folder):
    path = os.path.join(folder, ".base.weights.h5")
    base_model().save_weights(path)
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    return data


def _mutated(base, edit):
    buffer = io.BytesIO(base)
    with h5py.File(buffer, "r+") as h5:
        edit(h5)
    return buffer.getvalue()


def _replace(h5, name, **kwargs):
    del h5[name]
    h5.create_dataset(name, **kwargs)


def _weights_files(base):
    kernel = "layers/dense/vars/0"
    out = {}
    out["external_storage.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, kernel, shape=(4, 3), dtype="<f4", external=[("/etc/hostname", 0, 48)]))
    out["external_fifo.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, kernel, shape=(4, 3), dtype="<f4", external=[("fastnn-test-fifo", 0, 48)]))

    def virtual(h5):
        layout = h5py.VirtualLayout(shape=(4, 3), dtype="<f4")
        layout[:] = h5py.VirtualSource("/etc/hostname", "data", shape=(4, 3))
        del h5[kernel]
        h5.create_virtual_dataset(kernel, layout)
    out["virtual_dataset.weights.h5"] = _mutated(base, virtual)

    def soft(h5):
        h5["layers/dense/vars/spare"] = h5[kernel][()]
        del h5[kernel]
        h5[kernel] = h5py.SoftLink("/layers/dense/vars/spare")
        del h5["layers/dense/vars/spare"]
    out["soft_link.weights.h5"] = _mutated(base, soft)

    def external(h5):
        del h5[kernel]
        h5[kernel] = h5py.ExternalLink("/etc/other.h5", "/data")
    out["external_link.weights.h5"] = _mutated(base, external)
    out["shape_bomb.weights.h5"] = _mutated(base, lambda h5: h5.create_dataset(
        "layers/dense/vars/2", shape=(2 ** 34,), dtype="<f4", chunks=(2 ** 20,),
        compression="gzip"))
    out["unfiltered_fill_value.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, kernel, shape=(4, 3), dtype="<f4", chunks=(1, 3)))
    out["lzf_filter.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, kernel, data=np.ones((4, 3), np.float32), chunks=(2, 3), compression="lzf"))
    out["string_dtype.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, kernel, data=np.array([["abc"] * 3] * 4, dtype="S3")))
    out["compound_dtype.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, kernel, data=np.zeros((4, 3), dtype=[("a", "<f4")])))
    out["null_dataspace.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, kernel, data=h5py.Empty("<f4")))

    def checksum(h5):
        _replace(h5, kernel, data=np.full((4, 3), 7.0, np.float32), chunks=(4, 3),
                 fletcher32=True)
    data = bytearray(_mutated(base, checksum))
    at = bytes(data).find(struct.pack("<f", 7.0) * 12)
    data[at + 5] ^= 0x40
    out["bad_checksum.weights.h5"] = bytes(data)
    out["float64_overflow.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, kernel, data=np.full((4, 3), 1e300)))
    opt = "optimizer/vars/"
    out["nan_learning_rate.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, opt + "1", data=np.float32("nan")))
    out["huge_learning_rate.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, opt + "1", data=np.float64(1e300)))
    out["nan_iterations.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, opt + "0", data=np.float64("nan")))
    out["huge_iterations.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, opt + "0", data=np.int64(2 ** 63 - 1)))
    out["negative_iterations.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, opt + "0", data=np.int64(-3)))
    out["nan_moment.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, opt + "2", data=np.full((4, 3), np.nan, np.float32)))
    out["negative_second_moment.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, opt + "3", data=np.full((4, 3), -1.0, np.float32)))
    out["wrong_shape.weights.h5"] = _mutated(base, lambda h5: _replace(
        h5, kernel, data=np.ones((3, 4), np.float32)))
    out["not_hdf5.weights.h5"] = b"this is not an HDF5 file\n" * 20
    out["truncated.weights.h5"] = base[:len(base) // 2]
    return out


def _keras(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _keras_files(base, weights_files):
    config = json.dumps({"module": "keras", "class_name": "Sequential", "config": {
        "name": "sequential", "trainable": True, "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "config": {
                "batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"}},
            {"module": "keras.layers", "class_name": "Dense", "config": {
                "name": "dense", "units": 3}}]}}).encode()
    metadata = b'{"keras_version": "3.15.1"}'
    out = {}
    bomb = bz2.compress(b"\0" * (64 << 20), 9)  # a few hundred bytes
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("config.json", config)
        z.writestr("metadata.json", metadata)
        info = zipfile.ZipInfo("model.weights.h5")
        info.compress_type = zipfile.ZIP_BZIP2
        z.writestr(info, b"\0" * (64 << 20))
    out["zip_bomb.keras"] = buffer.getvalue()
    del bomb
    lying = bytearray(_keras({"config.json": config, "metadata.json": metadata,
                              "model.weights.h5": base}))
    # the central directory's uncompressed size of the weights member: claim 100 bytes
    cd = bytes(lying).rfind(b"PK\x01\x02model.weights.h5"[:4] + b"", 0)
    while cd >= 0 and lying[cd + 46:cd + 46 + 16] != b"model.weights.h5":
        cd = bytes(lying).rfind(b"PK\x01\x02", 0, cd)
    lying[cd + 24:cd + 28] = struct.pack("<I", 100)
    out["zip_lies_about_size.keras"] = bytes(lying)
    out["shape_bomb.keras"] = _keras({"config.json": config, "metadata.json": metadata,
                                      "model.weights.h5": weights_files["shape_bomb.weights.h5"]})
    big = json.loads(config)
    big["config"]["layers"][1]["config"]["units"] = 25_000_000
    out["config_bomb.keras"] = _keras({"config.json": json.dumps(big).encode(),
                                       "metadata.json": metadata, "model.weights.h5": base})
    out["not_zip.keras"] = b"PK\x03\x04 but not really a zip" * 10
    return out


def main(folder=HERE):
    base = _base_bytes(folder)
    files = _weights_files(base)
    files.update(_keras_files(base, files))
    assert sorted(files) == sorted(name for name, _ in CASES), "CASES and files differ"
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    with open(os.path.join(folder, "base.weights.h5"), "wb") as f:
        f.write(base)


if __name__ == "__main__":
    import sys
    sys.path.insert(0, os.path.join(HERE, "..", ".."))
    main()
