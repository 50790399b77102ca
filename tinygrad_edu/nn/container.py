"""Containers: Sequential (a chain), ModuleList (a list), ModuleDict (a dict) of modules;
ParameterList (a list) and ParameterDict (a dict) of parameters.

Their entries are registered as child modules (or parameters), so ``parameters()``,
``state_dict()`` and ``train()`` see them. A plain Python list of layers would be invisible
to all of those.
"""

from collections import OrderedDict

from ..tensor import Tensor
from .module import Module
from .parameter import Parameter


def _index(idx, n, who):
    if not isinstance(idx, int):
        raise TypeError(f"{who} indices must be integers or slices, not {type(idx).__name__}")
    if not -n <= idx < n:
        raise IndexError(f"{who}: index {idx} is out of range for length {n}")
    return idx % n


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Built from modules (named "0", "1", ...) or from one OrderedDict of named modules.
    Supports ``len``, indexing, slicing (a new Sequential sharing the layers), iteration,
    ``append``, ``insert``, ``extend`` and ``del``.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), "Sequential")]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for k in (keys[idx] if isinstance(idx, slice)
                  else [keys[_index(idx, len(self), "Sequential")]]):
            self._forget(k)
        # renumber so that the names stay "0", "1", ... (as PyTorch does)
        if all(k.isdigit() for k in self._modules):
            self._replace_children((str(i), m) for i, m in enumerate(list(self._modules.values())))

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} out of range for length {n}")
        items = list(self._modules.values())
        items.insert(index, module)
        self._replace_children((str(i), m) for i, m in enumerate(items))
        return self


class ModuleList(Module):
    """A list of modules, registered as children "0", "1", ... It has no forward: iterate
    over it in your own forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx):
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[_index(idx, len(self), "ModuleList")]
        self._replace_children((str(i), m) for i, m in enumerate(items))

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend should be called with an iterable of modules, "
                            f"got a single {type(modules).__name__}; use append")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        items = list(self._modules.values())
        items.insert(index, module)
        self._replace_children((str(i), m) for i, m in enumerate(items))


class _KeyedMethods:
    """The dict interface of ModuleDict and ParameterDict over one of Module's registries
    (``_registry`` names it: "_modules" or "_parameters"); ``__setitem__`` is the class's."""

    _registry = None

    def _store(self):
        return getattr(self, self._registry)

    def __getitem__(self, key):
        return self._store()[key]

    def __delitem__(self, key):
        if key not in self._store():
            raise KeyError(key)
        self._forget(key)

    def __len__(self):
        return len(self._store())

    def __iter__(self):
        return iter(self._store())

    def __contains__(self, key):
        return key in self._store()

    def keys(self):
        return self._store().keys()

    def values(self):
        return self._store().values()

    def items(self):
        return self._store().items()

    def pop(self, key):
        value = self._store()[key]
        self._forget(key)
        return value

    def update(self, entries):
        for key, value in (entries.items() if hasattr(entries, "items") else entries):
            self[key] = value


class ModuleDict(_KeyedMethods, Module):
    """A dict of modules (insertion-ordered), registered as children under their keys."""

    _registry = "_modules"

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def clear(self):
        self._replace_children(())


def _as_param(value, who):
    """A Parameter as is; any other Tensor wrapped as one (sharing memory, as in PyTorch)."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value.detach())
    raise TypeError(f"{who}: expected a Parameter or Tensor, got {type(value).__name__}")


class ParameterList(Module):
    """A list of parameters, registered as "0", "1", ... (a plain Tensor is wrapped in a
    Parameter). Use it for a variable number of weights: ``self.ws = nn.ParameterList(...)``
    then ``for w in self.ws: ...`` in forward."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(_index(idx, len(self), "ParameterList"))]

    def __setitem__(self, idx, value):
        # registering over an existing name keeps its place in the order
        self.register_parameter(str(_index(idx, len(self), "ParameterList")),
                                _as_param(value, "ParameterList"))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        self.register_parameter(str(len(self)), _as_param(value, "ParameterList"))
        return self

    def extend(self, values):
        if isinstance(values, Tensor):
            raise TypeError("ParameterList.extend should be called with an iterable of "
                            "parameters, got a single tensor; use append")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(f"({i}): Parameter of shape {tuple(p.shape)} ({p.dtype})"
                         for i, p in enumerate(self))


class ParameterDict(_KeyedMethods, Module):
    """A dict of parameters (insertion-ordered) registered under their keys."""

    _registry = "_parameters"

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_param(value, "ParameterDict"))  # keeps key order

    def extra_repr(self):
        return "\n".join(f"({k}): Parameter of shape {tuple(p.shape)} ({p.dtype})"
                         for k, p in self.items())
