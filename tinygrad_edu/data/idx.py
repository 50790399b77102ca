"""Read MNIST / Fashion-MNIST files (the IDX format), gzipped or raw.

The package cannot download data; if you have the four files of MNIST or Fashion-MNIST
(``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``, ``t10k-...``), point
``load_mnist`` at their folder.

The IDX format, all integers big-endian::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 * d       the size of each dimension (uint32)
    rest        the elements, row-major, exactly prod(sizes) of them

A gzip file is recognised by its own magic bytes (0x1f 0x8b), not by the file name.
"""

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from .dataset import to_tensor

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"read_idx: {path} looks gzipped but cannot be decompressed ({exc}); "
                         "the download may be incomplete") from None


def parse_idx(buf, name="<bytes>"):
    """The array stored in IDX bytes ``buf`` (validated; native byte order)."""
    if len(buf) < 4:
        raise ValueError(f"read_idx: {name} is too short for an IDX header ({len(buf)} bytes)")
    if buf[0] != 0 or buf[1] != 0:
        raise ValueError(f"read_idx: {name} is not an IDX file (magic number starts "
                         f"{buf[0]:#04x} {buf[1]:#04x}, expected 0x00 0x00)")
    code, ndim = buf[2], buf[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {name} has unknown element type {code:#04x} (known: "
                         f"{', '.join(f'{c:#04x}' for c in _IDX_TYPES)})")
    if ndim == 0:
        raise ValueError(f"read_idx: {name} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"read_idx: {name} is truncated inside its header ({len(buf)} bytes, "
                         f"the header of a {ndim}-d array needs {header})")
    shape = tuple(int(d) for d in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on a bad header
    found = len(buf) - header
    if found < expected:
        raise ValueError(f"read_idx: {name} is truncated: shape {shape} of {dtype.name} needs "
                         f"{expected} data bytes, found {found}")
    if found > expected:
        raise ValueError(f"read_idx: {name} has {found - expected} unexpected bytes after the "
                         f"data of shape {shape}; the file is corrupt or not IDX")
    data = np.frombuffer(buf, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a native-order, writable copy


def read_idx(path):
    """Read one IDX file (gzipped or raw) into a numpy array.

    Raises ValueError naming the file on a bad magic number, unknown type, truncated or
    over-long data, and a damaged gzip stream.
    """
    path = os.fspath(path)
    return parse_idx(_read_bytes(path), path)


def _find(folder, kind, what, idx_dims):
    names = [f"{kind}-{what}-idx{idx_dims}-ubyte", f"{kind}-{what}.idx{idx_dims}-ubyte"]
    tried = []
    for stem in names:
        for suffix in (".gz", ""):
            candidate = folder / (stem + suffix)
            tried.append(candidate.name)
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(f"load_mnist: no {kind} {what} file in {folder} (looked for "
                            f"{', '.join(tried)})")


def load_mnist(folder, kind="train", flatten=False, dtype=np.float32, as_tensor=False):
    """MNIST or Fashion-MNIST from the IDX files in ``folder``: ``(X, y)``.

    ``kind`` is ``"train"`` (60,000 samples) or ``"t10k"`` (the 10,000 test samples). ``X`` is
    ``(n, 1, 28, 28)`` or, with ``flatten``, ``(n, 784)``; pixel values 0..255 as ``dtype``
    (scale them with a scaler fit on the training split). ``y`` is int64 labels 0..9.
    """
    if kind not in ("train", "t10k"):
        raise ValueError(f"load_mnist: kind must be 'train' or 't10k', got {kind!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"load_mnist: {folder} is not a folder")
    images = read_idx(_find(folder, kind, "images", 3))
    labels = read_idx(_find(folder, kind, "labels", 1))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"load_mnist: images {images.shape} and labels {labels.shape} in "
                         f"{folder} do not match (expected (n, rows, cols) and (n,))")
    n, rows, cols = images.shape
    X = images.reshape(n, rows * cols) if flatten else images.reshape(n, 1, rows, cols)
    X, y = X.astype(dtype), labels.astype(np.int64)
    return (to_tensor(X), to_tensor(y)) if as_tensor else (X, y)
