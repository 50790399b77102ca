"""Loading a state dict into a module: check every key first, then copy, so that a failed
load leaves the model exactly as it was."""

from collections import namedtuple
from collections.abc import Mapping

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys the state lacked and the keys it had extra."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def load_state(module, state_dict, strict=True):
    """``Module.load_state_dict``: see there."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"load_state_dict: expected a dict-like state, got "
                        f"{type(state_dict).__name__}")
    own = module.state_dict(keep_vars=True)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    errors, plan = [], []
    for key, t in own.items():
        if key not in state_dict:
            continue
        value = state_dict[key]
        arr = value.data if isinstance(value, Tensor) else value
        try:
            arr = np.asarray(arr)
        except (TypeError, ValueError):  # reported below as a non-numeric value
            arr = None
        if arr is None or arr.dtype.kind not in "fiub":
            errors.append(f"value for {key} is a {type(value).__name__}, not a numeric "
                          "array")
        elif arr.shape != t.shape:
            errors.append(f"size mismatch for {key}: copying a param with shape "
                          f"{arr.shape} from checkpoint, the shape in current model is "
                          f"{t.shape}.")
        else:
            plan.append((t, arr))
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ".")
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
                           + "\n\t".join(errors))
    with no_grad():
        for t, arr in plan:
            if t.data.flags.writeable:
                np.copyto(t.data, arr, casting="unsafe")  # in place: optimizers keep refs
            else:
                t.data = arr.astype(t.data.dtype)
            t._version += 1
    return _IncompatibleKeys(missing, unexpected)
