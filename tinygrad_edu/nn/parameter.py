"""Parameter: the marker type a Module registers as a learnable weight."""

import numpy as np

from ..tensor import Tensor, _to_array


class Parameter(Tensor):
    """A Tensor that a Module registers as one of its learnable weights.

    ``Parameter(t)`` shares ``t``'s memory (as in PyTorch) and requires grad by default.
    Results of ops on a Parameter are plain Tensors.
    """

    __slots__ = ()  # nothing added: Parameter is only a marker type for registration

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), np.float32)
        shared = isinstance(data, Tensor)
        self.data = data.data if shared else _to_array(data)
        self.grad = None
        self._ctx = None
        self._vc = data._vc if shared else [0]  # same memory, same version counter
        self._hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)
