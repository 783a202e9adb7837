"""Generate the hostile IMDB/Reuters-style `.npz` files in tests/hostile_files/npz/
(tests/test_text_datasets.py loads each one with `imdb.load_data(path=...)`).

    python tests/hostile_files/make_hostile_npz.py

Each is an `imdb.npz` in Keras's format (`x_train`, `y_train`, `x_test`, `y_test`; the
sequences pickled object arrays) with one hostile or damaged part.  `CASES` lists
(file name, the error's expected words); every one must be refused with a ValueError.
"""
import io
import os
import pickle
import zipfile

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npz")


def sequences(rows):
    out = np.empty(len(rows), dtype=object)
    for i, r in enumerate(rows):
        out[i] = r
    return out


def npy(array):
    """`array` as np.save writes it (object arrays as a pickle stream)."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=True)
    return buf.getvalue()


def header(shape, descr="|O"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def members(**override):
    """The four members of a small genuine file, some replaced by raw .npy bytes."""
    base = {"x_train": npy(sequences([[1, 2, 3], [4, 5]])),
            "y_train": npy(np.array([0, 1])),
            "x_test": npy(sequences([[6], [7, 8, 9]])),
            "y_test": npy(np.array([1, 0]))}
    base.update(override)
    return base


def write(name, parts, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(os.path.join(HERE, name), "w", compression) as z:
        for key, data in parts.items():
            z.writestr(key + ".npy", data)


class _Evil:
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def stream_of(obj, shape):
    return header(shape) + pickle.dumps(obj, protocol=2)


CASES = [
    ("os_system.npz", "refusing to load the global"),
    ("builtins_eval.npz", "refusing to load the global"),
    ("numpy_scalar.npz", "refusing to load the global"),
    ("shape_bomb.npz", "declares .* bytes"),
    ("object_shape_mismatch.npz", "header declares"),
    ("truncated_pickle.npz", "not a readable object array"),
    ("reference_bomb.npz", "reference bomb"),
    ("zip_bomb.npz", "decompression bomb"),
    ("string_element.npz", "not a list"),
    ("float_word.npz", "not a word index"),
    ("negative_word.npz", "not a word index"),
    ("float_labels.npz", "integer labels"),
    ("void_dtype.npz", "only object arrays"),
    ("bad_magic.npz", "not a .npy"),
    ("missing_member.npz", "missing the array"),
    ("not_zip.npz", "not a readable .npz"),
    ("huge_string.npz", "not a readable object array"),
    ("oversized_member.npz", "decompression bomb"),
]


def main():
    os.makedirs(HERE, exist_ok=True)
    rows = sequences([[1, 2], [3]])
    evil = rows.copy()
    evil[0] = _Evil(os.system, "echo pwned > /tmp/fastnn-pwned")
    write("os_system.npz", members(x_train=npy(evil)))
    evil[0] = _Evil(eval, "1+1")
    write("builtins_eval.npz", members(x_train=npy(evil)))
    scalar = rows.copy()
    scalar[0] = [np.int64(5)]
    write("numpy_scalar.npz", members(x_train=npy(scalar)))
    write("shape_bomb.npz", members(y_train=header((10 ** 12,), "<i8") + b"\0" * 16))
    write("object_shape_mismatch.npz", members(x_train=header((3,)) + npy(rows)[128:]))
    write("truncated_pickle.npz", members(x_train=npy(rows)[:-20]))
    # one 2,000-word list referenced 5,000 times through the pickle memo: 10 M words from
    # a few kilobytes
    shared = list(range(2000))
    bomb = sequences([shared] * 5000)
    write("reference_bomb.npz", members(x_train=npy(bomb), y_train=npy(np.zeros(5000, int))))
    write("zip_bomb.npz", members(y_train=npy(np.zeros(5_000_000, np.int64))),
          zipfile.ZIP_DEFLATED)
    s = rows.copy()
    s[0] = "not a list"
    write("string_element.npz", members(x_train=npy(s)))
    s[0] = [1.5]
    write("float_word.npz", members(x_train=npy(s)))
    s[0] = [-4]
    write("negative_word.npz", members(x_train=npy(s)))
    write("float_labels.npz", members(y_train=npy(np.array([0.5, 1.0]))))
    # the pickled state names a void dtype instead of the object dtype
    void = npy(rows).replace(b"\x8c\x02O8", b"\x8c\x02V9")
    write("void_dtype.npz", members(x_train=void))
    write("bad_magic.npz", members(x_train=b"\x93NUMPX" + npy(rows)[6:]))
    parts = members()
    del parts["x_test"]
    write("missing_member.npz", parts)
    # a pickle string opcode declaring 4 GB, with a few bytes behind it
    stream = npy(rows)
    at = stream.index(b"\x8c\x02O8")
    write("huge_string.npz", members(x_train=stream[:at] + b"X\xff\xff\xff\xffO8"))
    # a member whose zip entry declares more than the 256 MB cap (stored, not deflated)
    write("oversized_member.npz", members())
    with open(os.path.join(HERE, "oversized_member.npz"), "r+b") as f:
        data = f.read()
        # the central directory's uncompressed size of the first member
        cd = data.index(b"PK\x01\x02")
        f.seek(cd + 24)
        f.write((300 << 20).to_bytes(4, "little"))
    with open(os.path.join(HERE, "not_zip.npz"), "wb") as f:
        f.write(b"this is not a zip archive\n" * 10)


if __name__ == "__main__":
    main()
