"""TensorBoard event files written without TensorFlow.

An event file is a sequence of TFRecords: `uint64 length`, `uint32 masked CRC32C of the
length`, `data`, `uint32 masked CRC32C of the data` (little-endian), where the mask is
`((crc >> 15) | (crc << 17)) + 0xa282ead8`. Each record's data is a serialized
`tensorflow.Event` protocol buffer, encoded here by hand (field numbers from
tensorflow/core/util/event.proto and framework/summary.proto):

    Event     { double wall_time = 1; int64 step = 2; string file_version = 3;
                bytes graph_def = 4; Summary summary = 5; }
    Summary   { repeated Value value = 1; }
    Value     { string tag = 1; float simple_value = 2; Image image = 4;
                HistogramProto histo = 5; }
    Histogram { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5;
                repeated double bucket_limit = 6, bucket = 7 (packed); }
    Image     { int32 height = 1, width = 2, colorspace = 3; bytes encoded_image_string = 4; }
    GraphDef  { repeated NodeDef node = 1; }  NodeDef { string name = 1, op = 2;
                repeated string input = 3; }
"""
import os
import socket
import struct
import time
import zlib

import numpy as np


# ---- CRC32C (Castagnoli) ------------------------------------------------------------------
def _crc_table():
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data):
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc(header)) + data +
            struct.pack("<I", masked_crc(data)))


# ---- protocol buffer encoding ---------------------------------------------------------------
def _varint(n):
    n &= (1 << 64) - 1  # negative int64 as two's complement
    out = bytearray()
    while True:
        bits = n & 0x7F
        n >>= 7
        if n:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def f_varint(field, n):
    return _key(field, 0) + _varint(int(n))


def f_double(field, x):
    return _key(field, 1) + struct.pack("<d", float(x))


def f_float(field, x):
    return _key(field, 5) + struct.pack("<f", float(x))


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return _key(field, 2) + _varint(len(b)) + b


def f_packed_doubles(field, values):
    return f_bytes(field, struct.pack(f"<{len(values)}d", *values))


def event(step, wall_time=None, summary=None, file_version=None, graph_def=None):
    out = f_double(1, time.time() if wall_time is None else wall_time) + f_varint(2, step)
    if file_version is not None:
        out += f_bytes(3, file_version)
    if graph_def is not None:
        out += f_bytes(4, graph_def)
    if summary is not None:
        out += f_bytes(5, summary)
    return out


def scalar_value(tag, value):
    return f_bytes(1, f_bytes(1, tag) + f_float(2, value))


def histogram_value(tag, values, buckets=30):
    """A HistogramProto of `values` with `buckets` equal-width buckets (as tf.summary)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        limits, counts = [0.0], [0.0]
        lo = hi = 0.0
    else:
        lo, hi = float(v.min()), float(v.max())
        if lo == hi:
            edges = np.array([lo - 0.5, hi + 0.5])
            counts = [float(v.size)]
        else:
            counts, edges = np.histogram(v, bins=buckets, range=(lo, hi))
            counts = counts.astype(float).tolist()
        limits = edges[1:].tolist()
    histo = (f_double(1, lo) + f_double(2, hi) + f_double(3, v.size) + f_double(4, v.sum()) +
             f_double(5, float(np.dot(v, v))) + f_packed_doubles(6, limits) +
             f_packed_doubles(7, counts))
    return f_bytes(1, f_bytes(1, tag) + f_bytes(5, histo))


def png(image):
    """PNG bytes of an (H, W, C) uint8 image, C in 1, 3, 4."""
    h, w, c = image.shape
    color = {1: 0, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + image[i].tobytes() for i in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def image_value(tag, image):
    """An image summary of an (H, W, C) float array, scaled to 0..255 like tf.summary.image."""
    img = np.asarray(image, dtype=np.float64)
    lo, hi = img.min(), img.max()
    img = np.zeros_like(img) if hi == lo else (img - lo) / (hi - lo)
    img = (img * 255).round().astype(np.uint8)
    h, w, c = img.shape
    proto = f_varint(1, h) + f_varint(2, w) + f_varint(3, c) + f_bytes(4, png(img))
    return f_bytes(1, f_bytes(1, tag) + f_bytes(4, proto))


def graph_def(nodes):
    """A GraphDef of (name, op, [input names]) nodes."""
    return b"".join(f_bytes(1, f_bytes(1, name) + f_bytes(2, op) +
                            b"".join(f_bytes(3, i) for i in inputs))
                    for name, op, inputs in nodes)


class EventFileWriter:
    """Appends events to `logdir/events.out.tfevents.<time>.<host>.<pid>.<n>.v2`."""

    _count = 0

    def __init__(self, logdir):
        os.makedirs(logdir, exist_ok=True)
        EventFileWriter._count += 1
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
                f"{os.getpid()}.{EventFileWriter._count}.v2")
        self.path = os.path.join(logdir, name)
        self._file = open(self.path, "wb")
        self.write(event(0, file_version="brain.Event:2"))

    def write(self, event_bytes):
        self._file.write(record(event_bytes))

    def scalars(self, step, values):
        """values: {tag: number}."""
        if values:
            self.write(event(step, summary=b"".join(scalar_value(k, v) for k, v in values.items())))

    def flush(self):
        self._file.flush()

    def close(self):
        if not self._file.closed:
            self._file.close()
