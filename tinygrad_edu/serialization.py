"""Checkpoints: ``save(obj, path)`` and ``load(path)``, without pickle.

``obj`` may be a model state dict (name -> array or Tensor), an optimizer or scheduler state
dict (nested dicts with int keys, lists, tuples, numbers), or any nesting of those with plain
values, e.g. a training checkpoint::

    tg.save({"epoch": 7, "model": model.state_dict(), "optim": opt.state_dict(),
             "history": {"loss": [0.9, 0.5]}}, "ckpt.npz")
    ckpt = tg.load("ckpt.npz")

Format: a numpy ``.npz`` archive (a zip of ``.npy`` files, readable with ``np.load``) holding
every array under its dotted path ("model.fc1.weight") plus one member ``__tinygrad_edu__``
with the nesting, the scalars and the key types as JSON. A path ending in ``.safetensors``
writes the safetensors format instead (needs the ``safetensors`` package), with the same JSON
in the header metadata, so other tools can read the tensors by name. Nothing is ever
unpickled, so loading a file from someone else cannot run code.

Writes are atomic: the data go to a temporary file in the same directory, which is flushed,
fsync'ed and then renamed over ``path`` (``os.replace``). A crash or kill at any moment
leaves either the old checkpoint or the new one, never a torn file.
"""

import json
import os
import secrets
import zipfile

import numpy as np

from .tensor import Tensor

_META = "__tinygrad_edu__"
_VERSION = 1
_before_replace = None  # test hook: called with the temp file's path just before the rename


def save(obj, path):
    """Write ``obj`` (see the module docstring) to ``path`` atomically."""
    path = os.fspath(path)
    arrays = {}
    tree = _encode(obj, arrays, ())
    meta = json.dumps({"format": "tinygrad_edu", "version": _VERSION, "tree": tree})
    if path.endswith(".safetensors"):
        st = _safetensors("save")
        # NOTE: not np.ascontiguousarray, which turns a 0-d array into shape (1,).
        payload = st.save({k: np.array(v, order="C", copy=not v.flags.c_contiguous)
                           for k, v in arrays.items()}, metadata={_META: meta})
        _atomic_write(path, lambda f: f.write(payload))
    else:
        _atomic_write(path, lambda f: _write_npz(f, arrays, meta))


def load(path):
    """Read a checkpoint written by ``save`` (or a plain ``.npz`` / ``.safetensors`` file of
    named arrays, returned as a dict). A truncated or corrupt file raises ValueError."""
    path = os.fspath(path)
    with open(path, "rb") as f:  # FileNotFoundError etc. pass through unchanged
        magic = f.read(4)
    try:
        if magic.startswith(b"PK"):
            arrays, meta = _read_npz(path)
        elif path.endswith(".safetensors") and len(magic) == 4:
            arrays, meta = _read_safetensors(path)
        else:
            raise ValueError("unknown file format" if magic else "the file is empty")
        if meta is None:
            return arrays
        info = json.loads(meta)
        if not isinstance(info, dict) or info.get("format") != "tinygrad_edu":
            raise ValueError("bad metadata")
        if info.get("version", 0) > _VERSION:
            raise ValueError(f"written by a newer tinygrad_edu (format version "
                             f"{info['version']})")
        return _decode(info["tree"], arrays)
    except ImportError:
        raise
    except Exception as exc:  # zipfile, numpy, json and safetensors each have their own
        raise ValueError(f"load: {path!r} is not a tinygrad_edu checkpoint or is truncated/"
                         f"corrupt ({type(exc).__name__}: {exc})") from exc


# ------------------------------------------------------------------------ the tree as JSON
# Containers become tagged JSON objects; numbers, strings, booleans and None stay as they are.


def _encode(obj, arrays, where):
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (Tensor, np.ndarray)):
        arr = obj.data if isinstance(obj, Tensor) else obj
        if arr.dtype.hasobject or arr.dtype.kind not in "biufc":
            raise TypeError(f"save: cannot store an array of dtype {arr.dtype} at "
                            f"{_where(where)}; numeric and bool arrays only")
        name = _unique_name(where, arrays)
        arrays[name] = arr
        if isinstance(obj, Tensor):
            return {"$": "tensor", "key": name, "requires_grad": bool(obj.requires_grad)}
        return {"$": "array", "key": name}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(f"save: dict keys must be str or int, got {k!r} at "
                                f"{_where(where)}")
            items.append([k, _encode(v, arrays, where + (k,))])
        return {"$": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        return {"$": "tuple" if isinstance(obj, tuple) else "list",
                "items": [_encode(v, arrays, where + (i,)) for i, v in enumerate(obj)]}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {_where(where)}; supported: "
                    "dicts (str/int keys), lists, tuples, numbers, strings, None, numpy arrays "
                    "and Tensors")


def _where(where):
    return "obj" + "".join(f"[{k!r}]" for k in where)


def _unique_name(where, arrays):
    base = ".".join(str(k) for k in where) or "array"
    name, n = base, 1
    while name in arrays or name == _META:
        n += 1
        name = f"{base}#{n}"
    return name


def _decode(node, arrays):
    if not isinstance(node, dict):
        return node
    tag = node["$"]
    if tag == "array":
        return arrays[node["key"]]
    if tag == "tensor":
        t = Tensor._wrap(arrays[node["key"]])
        if node.get("requires_grad"):
            t.requires_grad_(True)
        return t
    if tag == "dict":
        return {k: _decode(v, arrays) for k, v in node["items"]}
    if tag == "list":
        return [_decode(v, arrays) for v in node["items"]]
    if tag == "tuple":
        return tuple(_decode(v, arrays) for v in node["items"])
    raise ValueError(f"unknown node tag {tag!r}")


# ------------------------------------------------------------------------ file formats


def _write_npz(f, arrays, meta):
    # NOTE: written with zipfile directly (np.savez would reject member names such as
    # "file" that collide with its own keyword arguments).
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)
        with zf.open(_META + ".npy", "w") as member:
            raw = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
            np.lib.format.write_array(member, raw, allow_pickle=False)


def _read_npz(path):
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != _META}  # every member read (CRC-checked)
        meta = bytes(z[_META]).decode("utf-8") if _META in z.files else None
    return arrays, meta


def _read_safetensors(path):
    st = _safetensors("load")
    with open(path, "rb") as f:
        data = f.read()
    header_len = int.from_bytes(data[:8], "little")
    if header_len <= 0 or 8 + header_len > len(data):
        raise ValueError(f"header of {header_len} bytes in a file of {len(data)} bytes")
    header = json.loads(data[8:8 + header_len].decode("utf-8"))
    meta = (header.get("__metadata__") or {}).get(_META)
    return st.load(data), meta


def _safetensors(what):
    try:
        import safetensors.numpy as st
    except ImportError as exc:
        raise ImportError(f"{what}: the .safetensors format needs the 'safetensors' package "
                          "(pip install safetensors); or use a path ending in .npz") from exc
    return st


def _atomic_write(path, write):
    """Write through ``write(file)`` into a temp file beside ``path``, then rename it."""
    path = os.path.abspath(path)
    directory, base = os.path.split(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path!r} is a directory")
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:  # O_EXCL: never reuse another writer's temp file; 0o666 lets the umask decide
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # the data are on disk before the rename makes them visible
        if _before_replace is not None:
            _before_replace(tmp)
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable (POSIX; a no-op where directories can't be opened)
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
