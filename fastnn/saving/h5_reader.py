"""Reading an untrusted `.weights.h5` file: an allow-list, then plain NumPy arrays.

HDF5 can do much more than hold arrays: a dataset may keep its bytes in *another* file
(external storage), be assembled from other files (virtual datasets), and a name may be a
soft or external link to anything.  A weights file needs none of that, so `parse` accepts
only:

- hard links (no soft or external links anywhere in the file);
- datasets stored inside the file: contiguous, compact or chunked layout, no external
  storage, no virtual layout;
- standard integer and IEEE float types (1-8 bytes, either byte order), a simple or scalar
  dataspace;
- the filters deflate, shuffle and fletcher32 (what h5py and Keras write);
- sizes bounded by what is stored: an unfiltered dataset must store all its bytes, a
  filtered one may expand at most `MAX_FILTER_EXPANSION` times (deflate cannot exceed
  ~1032:1), so a file cannot declare more data than it carries; and the datasets read
  may declare at most `files.max_weights_bytes()` in total (16 GiB, or the machine's
  memory), since 17 MB of deflated chunks may legitimately expand to 17 GB.

Everything the loader needs (the arrays of every `vars` group, the root attributes) is read
into memory here; every problem, including h5py's own OSError/KeyError/RuntimeError on a
damaged file, becomes a ValueError naming the file and the object.  Nothing here touches a
model.
"""
import functools
import io
import math

import numpy as np

MAX_FILTER_EXPANSION = 1100
MAX_OBJECTS = 100_000
MAX_ATTR_BYTES = 16 << 20


class StoredWeights:
    """What a weights file holds: `groups` maps a vars group's path ("layers/dense/vars",
    "optimizer/vars", "vars") to its arrays in order; `attrs` are the root attributes
    (str, int or float values only)."""

    def __init__(self, groups, attrs):
        self.groups, self.attrs = groups, attrs

    def stored_elements(self):
        """Number of values in the model's (non-optimizer) arrays: bounds what a config
        may make the loader allocate."""
        return sum(a.size for path, arrays in self.groups.items()
                   if not path.startswith("optimizer/") for a in arrays)


def _h5py():
    from fastnn.saving.files import require_h5py
    return require_h5py()


@functools.lru_cache(maxsize=1)
def _standard_types():
    from h5py import h5t
    names = ["IEEE_F16", "IEEE_F32", "IEEE_F64"] + [f"STD_{k}{b}" for k in "IU"
                                                     for b in (8, 16, 32, 64)]
    return tuple(getattr(h5t, n + order) for n in names for order in ("LE", "BE")
                 if hasattr(h5t, n + order))


def _check_dataset(ds, name, what):
    from h5py import h5d, h5s, h5z
    where = f"{what}: dataset '{name}'"
    plist = ds.id.get_create_plist()
    if plist.get_external_count() > 0:
        raise ValueError(f"Not allowed: H5 file with external Dataset: {where} keeps its "
                         f"data in another file")
    layout = plist.get_layout()
    if layout == getattr(h5d, "VIRTUAL", 3):
        raise ValueError(f"Not allowed: H5 file with virtual Dataset: {where}")
    if layout not in (h5d.CONTIGUOUS, h5d.CHUNKED, h5d.COMPACT):
        raise ValueError(f"Not allowed: {where} has an unknown storage layout {layout}")
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    bad = [f for f in filters if f not in (h5z.FILTER_DEFLATE, h5z.FILTER_SHUFFLE,
                                           h5z.FILTER_FLETCHER32)]
    if bad:
        raise ValueError(f"Not allowed: {where} uses HDF5 filters {bad}; fastnn reads "
                         f"deflate (gzip), shuffle and fletcher32 only")
    tid = ds.id.get_type()
    if not any(tid.equal(t) for t in _standard_types()):
        raise ValueError(f"{where} has dtype {ds.dtype}: a weights file holds integer or "
                         f"float numbers only")
    space = ds.id.get_space()
    if space.get_simple_extent_type() not in (h5s.SIMPLE, h5s.SCALAR):
        raise ValueError(f"{where} has no shape (a null dataspace)")
    shape = tuple(int(n) for n in space.get_simple_extent_dims()) \
        if space.get_simple_extent_type() == h5s.SIMPLE else ()
    declared = math.prod(shape) * ds.dtype.itemsize
    stored = int(ds.id.get_storage_size())
    allowed = stored * (MAX_FILTER_EXPANSION if filters else 1)
    if declared > allowed:
        raise ValueError(f"Not allowed: {where} declares {declared} bytes (shape {shape}) but "
                         f"only {stored} bytes are stored in the file")
    return shape


def _check_links(h5, what):
    """Only hard links (checked without following any link)."""
    from h5py import h5l
    links = []

    def visit(name, info):  # raising inside h5py's callback would lose the message
        links.append((name, info.type))
        return True if len(links) > MAX_OBJECTS else None

    h5.id.links.visit(visit, info=True)
    if len(links) > MAX_OBJECTS:
        raise ValueError(f"{what}: more than {MAX_OBJECTS} objects, too many for a "
                         f"weights file")
    for name, kind in links:
        if kind != h5l.TYPE_HARD:
            label = "SoftLink" if kind == h5l.TYPE_SOFT else "ExternalLink"
            raise ValueError(f"Not allowed: H5 file with {label}: {what}: "
                             f"'{name.decode(errors='replace')}'")


def _read_attrs(h5, what):
    """The root attributes that are a string or a number (others are skipped: fastnn
    keeps only a JSON string there, BackupAndRestore's training state)."""
    from h5py import h5s, h5t
    attrs = {}
    for key in h5.attrs:
        aid = h5.attrs.get_id(key)
        if aid.get_storage_size() > MAX_ATTR_BYTES:
            raise ValueError(f"{what}: root attribute {key!r} is larger than "
                             f"{MAX_ATTR_BYTES} bytes")
        cls = aid.get_type().get_class()
        if cls not in (h5t.STRING, h5t.INTEGER, h5t.FLOAT) or \
                aid.get_space().get_simple_extent_type() != h5s.SCALAR:
            continue
        value = h5.attrs[key]
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if isinstance(value, (np.integer, np.floating)):
            value = value.item()
        if isinstance(value, (str, int, float)):
            attrs[key] = value
    return attrs


def _read_groups(h5, what):
    h5py = _h5py()
    groups, datasets = {}, {}

    def visit(name, obj):  # hard links only (checked first); each object once
        if isinstance(obj, h5py.Dataset):
            datasets[name] = obj
        elif not isinstance(obj, h5py.Group):
            raise ValueError(f"{what}: '{name}' is neither a group nor a dataset")
        elif name == "vars" or name.endswith("/vars"):
            groups[name] = len(obj)

    h5.visititems(visit)
    children = {}
    for name in datasets:
        parent, _, key = name.rpartition("/")
        if parent in groups:
            children.setdefault(parent, []).append(key)
    shapes = {name: _check_dataset(ds, name, what) for name, ds in datasets.items()}
    plan, total = {}, 0  # every dataset checked, even unread ones, before reading any
    for path, count in groups.items():
        keys = sorted(children.get(path, []),
                      key=lambda k: int(k) if k.isdigit() and len(k) < 10 else -1)
        if len(keys) != count or keys != [str(i) for i in range(count)]:
            raise ValueError(f"{what}: group '{path}' should hold only datasets named "
                             f"0..n-1, found {keys[:10]} among {count} members")
        plan[path] = [f"{path}/{k}" for k in keys]
        total += sum(math.prod(shapes[n]) * datasets[n].dtype.itemsize for n in plan[path])
    from fastnn.saving.files import max_weights_bytes
    limit = max_weights_bytes()
    if total > limit:  # the ratio bound alone lets 17 MB of deflated chunks declare 17 GB
        raise ValueError(f"Not allowed: {what}: its datasets declare {total} bytes in total, "
                         f"more than the {limit}-byte limit for weights")
    out = {}
    for path, names in plan.items():
        arrays = []
        for name in names:
            ds = datasets[name]
            value = np.empty(shapes[name], dtype=ds.dtype.newbyteorder("="))
            if value.size:
                ds.read_direct(value)
            arrays.append(value)
        out[path] = arrays
    return out


def parse(data, what):
    """The arrays and root attributes of the HDF5 file in `data` (bytes), after checking
    the file against the allow-list; an UnreadableFileError (a ValueError) naming `what`
    for anything else."""
    from fastnn.saving.files import UnreadableFileError
    h5py = _h5py()
    try:
        h5 = h5py.File(io.BytesIO(data), "r")
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # h5py raises OSError, ValueError, KeyError... on garbage
        raise UnreadableFileError(f"{what} is not a valid HDF5 weights file ({exc})") from None
    try:
        with h5:
            _check_links(h5, what)
            return StoredWeights(_read_groups(h5, what), _read_attrs(h5, what))
    except (MemoryError, KeyboardInterrupt):
        raise
    except ValueError as exc:
        if what in str(exc):
            raise UnreadableFileError(str(exc)) from None
        raise UnreadableFileError(f"{what} is damaged and cannot be read ({exc})") from None
    except Exception as exc:  # a damaged file: h5py's OSError, KeyError, RuntimeError...
        raise UnreadableFileError(f"{what} is damaged and cannot be read "
                                  f"({type(exc).__name__}: {exc})") from None
