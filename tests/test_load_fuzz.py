"""Property test: a damaged `.keras` or `.weights.h5` file only ever gives a ValueError
(the model unchanged) or a correct load (the model holds exactly the file's values).

Files are made from genuine ones of three models (a CNN with Conv2D and Dropout; a
sequence model with Embedding, LSTM, GRU, BatchNormalization; an image model with
RandomFlip, RandomRotation, Conv2D and BatchNormalization under SGD with momentum) by
flipping bytes, cutting them short and mutating fields (datasets' shapes, dtypes, values
and layouts; the optimizer's iterations and learning rate; config.json's values and keys;
zip members).  They are loaded in a subprocess under an address-space limit (a file that
makes fastnn allocate gigabytes fails the test with MemoryError), whose Python `open`
calls are audited (only the case's own file may be opened), whose open file descriptors
must not grow, and whose working folder must hold nothing but the cases afterwards.

The default run makes a fixed 150 cases (a few seconds); `FASTNN_FUZZ_CASES=5000 pytest
tests/test_load_fuzz.py` runs as many as asked (other seeds: FASTNN_FUZZ_SEED).
"""
import json
import os
import subprocess
import sys

from conftest import subprocess_env

FUZZ = r'''
import io, json, os, random, resource, sys, time, warnings, zipfile
import numpy as np
import h5py
from fastnn import layers, models, optimizers
from fastnn.saving import weights_store

seed, budget_s, max_cases = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
work = os.getcwd()
warnings.simplefilter("ignore")  # skip_mismatch-style warnings are expected
data_rng = np.random.default_rng(seed)


def make_cnn():
    m = models.Sequential([layers.Input((5, 5, 2)), layers.Conv2D(3, 2, name="conv"),
                           layers.Flatten(), layers.Dropout(0.1),
                           layers.Dense(4, name="out")])
    m.compile(optimizers.Adam(0.01), "mse")
    return m, (5, 5, 2), 4


def make_seq():
    m = models.Sequential([layers.Input((6,)), layers.Embedding(20, 4, name="emb"),
                           layers.LSTM(3, return_sequences=True, dropout=0.1, name="lstm"),
                           layers.GRU(3, name="gru"), layers.BatchNormalization(name="bn"),
                           layers.Dense(2, name="out")])
    m.compile(optimizers.Adam(0.01), "mse")
    return m, (6,), 2


def make_aug():
    m = models.Sequential([layers.Input((6, 6, 2)), layers.RandomFlip(seed=1),
                           layers.RandomRotation(0.1, seed=2), layers.Conv2D(3, 2, name="conv"),
                           layers.BatchNormalization(name="bn"), layers.Flatten(),
                           layers.Dense(2, name="out")])
    m.compile(optimizers.SGD(0.01, momentum=0.9), "mse")
    return m, (6, 6, 2), 2


def train(m, shape, units, value):
    x = data_rng.integers(0, 20, (8,) + shape).astype(np.float32) if shape == (6,) else \
        data_rng.uniform(-1, 1, (8,) + shape).astype(np.float32)
    m.fit(x, np.full((8, units), value, np.float32), verbose=0)


class Base:
    """A genuine model's files, and a trained target of the same architecture."""
    def __init__(self, name, make):
        self.name = name
        model, shape, units = make()
        train(model, shape, units, 1.0)
        self.keras_path = os.path.join(work, f"base_{name}.keras")
        self.weights_path = os.path.join(work, f"base_{name}.weights.h5")
        model.save(self.keras_path)
        model.save_weights(self.weights_path)
        self.KERAS = open(self.keras_path, "rb").read()
        self.WEIGHTS = open(self.weights_path, "rb").read()
        with zipfile.ZipFile(io.BytesIO(self.KERAS)) as z:
            self.CONFIG = json.loads(z.read("config.json"))
            self.METADATA = z.read("metadata.json")
        self.target, shape, units = make()
        train(self.target, shape, units, 0.0)


BASES = [Base("cnn", make_cnn), Base("seq", make_seq), Base("aug", make_aug)]


def snapshot(m):
    return [w.copy() for w in m.get_weights()] + [
        np.array(v).copy() for v in m.optimizer.keras_variables(m.trainable_weights)]


# ---- mutations ---------------------------------------------------------------------
def flip(data):
    data = bytearray(data)
    for _ in range(rnd.choice([1, 1, 2, 4, 16])):
        at = rnd.randrange(len(data)) if rnd.random() < 0.7 else rnd.randrange(min(len(data), 2048))
        data[at] ^= rnd.randrange(1, 256)
    return bytes(data)


def cut(data):
    return data[:rnd.randrange(len(data))]


ODD_VALUES = [np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0, -1.0, 2.0 ** 63, 2.0 ** 64,
              1e-45, 3.5e38]


def odd_array(shape):
    kind = rnd.randrange(6)
    if kind == 0:
        return np.full(shape, rnd.choice(ODD_VALUES))
    if kind == 1:
        return np.full(shape, rnd.choice(ODD_VALUES)).astype(np.float32)
    if kind == 2:
        return np.full(shape, rnd.choice([0, 1, -1, 2 ** 63 - 1, -2 ** 63]), np.int64)
    if kind == 3:
        return np.full(shape, 2 ** 64 - 1, np.uint64)
    if kind == 4:
        return np.ones(shape, np.float16)
    return np.ones(shape, np.int8)


def mutate_h5(data):
    try:
        return _mutate_h5(data)
    except (ValueError, KeyError, TypeError):  # a mutation h5py cannot make: flip instead
        return flip(data)


def _mutate_h5(data):
    buf = io.BytesIO(data)
    with h5py.File(buf, "r+") as h5:
        names = []
        h5.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        name = rnd.choice(names)
        old = h5[name]
        shape, value = old.shape, old[()]
        op = rnd.randrange(10)
        del h5[name]
        if op == 0:  # another shape
            h5.create_dataset(name, data=np.ones(tuple(rnd.randrange(0, 5) for _ in
                                                 range(rnd.randrange(0, 4))), np.float32))
        elif op == 1:  # odd values / dtypes
            h5.create_dataset(name, data=odd_array(shape))
        elif op == 2:  # gone
            pass
        elif op == 3:  # an extra dataset
            h5.create_dataset(name, data=value)
            h5.create_dataset(name.rsplit("/", 1)[0] + "/" + str(rnd.choice([7, 99, "x"])),
                              data=np.ones(3, np.float32))
        elif op == 4 and len(shape) > 0 and np.prod(shape) > 0:  # chunked, compressed
            h5.create_dataset(name, data=value, chunks=tuple(max(1, s // 2) for s in shape),
                              compression="gzip", shuffle=rnd.random() < 0.5,
                              fletcher32=rnd.random() < 0.5)
        elif op == 5:  # declares more than it stores
            h5.create_dataset(name, shape=shape if shape else (1,), dtype="<f4",
                              chunks=True if shape else None)
        elif op == 6:  # a string
            h5.create_dataset(name, data=np.bytes_("hello"))
        elif op == 7:  # a group instead of a dataset
            h5.create_group(name)
        elif op == 8:  # the group's name changes
            h5.create_dataset(name, data=value)
            group = name.rsplit("/vars/", 1)[0]
            if group and group in h5:
                h5.move(group, group + rnd.choice(["_1", "x", ""]) + "_moved")
        else:  # big-endian or float64 of the same values
            h5.create_dataset(name, data=np.asarray(value).astype(
                rnd.choice([">f4", "<f8", ">i8", "<u2"])))
    return buf.getvalue()


def random_value(depth=0):
    choices = [None, -1, 0, 1, 2 ** 31, 2 ** 63, -2 ** 63, 1e308, -1e308, float("nan"),
               0.5, "", "x" * 50, "relu", "Dense", True, False, [], {}, [None, 3],
               {"class_name": "Dense", "config": {}}]
    if depth < 3 and rnd.random() < 0.1:
        return [random_value(depth + 1) for _ in range(rnd.randrange(3))]
    return rnd.choice(choices)


def mutate_json(obj):
    """One leaf of the config changed, deleted, or a key added."""
    obj = json.loads(json.dumps(obj))
    node, path = obj, []
    while isinstance(node, (dict, list)) and node and rnd.random() < 0.85:
        key = rnd.choice(list(node)) if isinstance(node, dict) else rnd.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if not path:
        return random_value()
    parent, key = path[-1]
    op = rnd.randrange(4)
    if op == 0 and isinstance(parent, dict):
        del parent[key]
    elif op == 1 and isinstance(parent, dict):
        parent["extra_" + str(rnd.randrange(5))] = random_value()
    else:
        parent[key] = random_value()
    return obj


def keras_file(b, config=None, weights=None, metadata=None, compression=zipfile.ZIP_STORED,
               drop=None):
    buf = io.BytesIO()
    members = {"metadata.json": b.METADATA if metadata is None else metadata,
               "config.json": json.dumps(b.CONFIG if config is None else config).encode(),
               "model.weights.h5": b.WEIGHTS if weights is None else weights}
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, data in members.items():
            if name != drop:
                z.writestr(name, data)
    return buf.getvalue()


def mutate_keras(b):
    op = rnd.randrange(8)
    if op <= 1:
        return flip(b.KERAS)
    if op == 2:
        return cut(b.KERAS)
    if op <= 4:
        return keras_file(b, config=mutate_json(b.CONFIG))
    if op == 5:
        return keras_file(b, weights=mutate_h5(b.WEIGHTS))
    if op == 6:
        return keras_file(b, compression=rnd.choice([zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2]),
                          drop=rnd.choice([None, None, "config.json", "model.weights.h5",
                                           "metadata.json"]))
    return keras_file(b, metadata=rnd.choice([b"", b"[", b"{}", b"null", flip(b.METADATA)]))


def mutate_weights(b):
    op = rnd.randrange(6)
    if op <= 1:
        return flip(b.WEIGHTS)
    if op == 2:
        return cut(b.WEIGHTS)
    return mutate_h5(b.WEIGHTS)


# ---- checks ------------------------------------------------------------------------
def file_values(path, target):
    """What the file holds for each variable, in get_weights() order (None if h5py cannot
    read it plainly)."""
    by_id = {}
    with h5py.File(path, "r") as h5:
        for p, layer, variables in weights_store.variable_groups(target):
            for i, v in enumerate(variables):
                by_id[id(v)] = np.asarray(h5[f"{p}/vars/{i}"][()], np.float32)
    return [by_id[id(v)] for v in target.weights]


opened = []
auditing = [False]


def audit(event, args):
    if auditing[0] and event == "open":
        opened.append(str(args[0]))


sys.addaudithook(audit)
fd_dir = "/proc/self/fd"
fds_before = len(os.listdir(fd_dir))
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
size = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
limit = size + (2 << 30)
if "libasan" not in os.environ.get("LD_PRELOAD", ""):  # ASan reserves terabytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

stats = {"cases": 0, "loaded": 0, "refused": 0, "failures": []}
start = time.time()
i = 0
while i < max_cases and time.time() - start < budget_s:
    kind = "keras" if i % 3 == 2 else "weights"
    b = BASES[(i // 3) % len(BASES)]
    target = b.target
    data = mutate_keras(b) if kind == "keras" else mutate_weights(b)
    path = os.path.join(work, f"case{i % 4}.{'keras' if kind == 'keras' else 'weights.h5'}")
    with open(path, "wb") as f:
        f.write(data)
    before = snapshot(target)
    opened.clear()
    auditing[0] = True
    outcome = None
    try:
        if kind == "keras":
            m = models.load_model(path)
            outcome = "loaded"
        else:
            target.load_weights(path)
            outcome = "loaded"
    except ValueError:
        outcome = "refused"
    except BaseException as exc:  # anything else is a failure: record it
        outcome = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        auditing[0] = False
    bad_opens = [p for p in opened if os.path.realpath(p) != os.path.realpath(path)
                 and not p.endswith((".py", ".pyc", ".so"))]  # (lazy imports)
    if bad_opens:
        stats["failures"].append([i, kind, b.name, "opened other paths", bad_opens[:3]])
    if len(os.listdir(fd_dir)) != fds_before:
        stats["failures"].append([i, kind, b.name, "file descriptors changed"])
        fds_before = len(os.listdir(fd_dir))
    if outcome == "refused":
        stats["refused"] += 1
        if kind == "weights":
            after = snapshot(target)
            if len(after) != len(before) or any(not np.array_equal(a, b, equal_nan=True)
                                                for a, b in zip(before, after)):
                stats["failures"].append([i, kind, b.name, "refused but the model changed"])
                target.set_weights(before[:len(target.weights)])
    elif outcome == "loaded":
        stats["loaded"] += 1
        if kind == "weights":
            try:
                expected = file_values(path, target)
            except Exception:
                expected = None
            got = target.get_weights()
            if expected is not None and any(not np.array_equal(e, g, equal_nan=True)
                                            for e, g in zip(expected, got)):
                stats["failures"].append([i, kind, b.name, "loaded values differ from the file"])
            target.load_weights(b.weights_path)
    else:
        stats["failures"].append([i, kind, b.name, outcome])
    i += 1
stats["cases"] = i
stats["seconds"] = round(time.time() - start, 1)
print("FUZZ-RESULT " + json.dumps(stats))
'''


def run_fuzz(tmp_path, seed, budget_s, max_cases):
    env = subprocess_env(OMP_NUM_THREADS="1")  # the same fastnn as this test's
    out = subprocess.run([sys.executable, "-c", FUZZ, str(seed), str(budget_s),
                          str(max_cases)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=budget_s + 240, env=env)
    line = [l for l in out.stdout.splitlines() if l.startswith("FUZZ-RESULT ")]
    assert out.returncode == 0 and line, (out.returncode, out.stdout[-3000:],
                                          out.stderr[-3000:])
    return json.loads(line[0][len("FUZZ-RESULT "):])


def test_damaged_files_give_value_error_or_a_correct_load(tmp_path):
    cases = int(os.environ.get("FASTNN_FUZZ_CASES", "150"))
    seed = int(os.environ.get("FASTNN_FUZZ_SEED", "2026"))
    # the time budget only bounds a hung run: every case must be made and loaded
    stats = run_fuzz(tmp_path, seed=seed, budget_s=max(600, cases), max_cases=cases)
    print(f"fuzz: {stats['cases']} files in {stats['seconds']} s, {stats['loaded']} loaded, "
          f"{stats['refused']} refused")
    assert not stats["failures"], stats["failures"][:20]
    assert stats["cases"] == cases
    assert stats["refused"] > stats["cases"] // 4 and stats["loaded"] > 0
    bases = {f"base_{name}.{ext}" for name in ("cnn", "seq", "aug")
             for ext in ("keras", "weights.h5")}
    leftovers = set(os.listdir(tmp_path)) - bases - {
        f"case{i}.{ext}" for i in range(4) for ext in ("keras", "weights.h5")}
    assert not leftovers, leftovers
