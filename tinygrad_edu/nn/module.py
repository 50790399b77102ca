"""Module: the bookkeeping that turns functions of tensors into models.

A Module is an object whose attributes are registered as they are assigned: a ``Parameter``
goes into ``_parameters``, a ``Module`` into ``_modules``, a tensor given to
``register_buffer`` into ``_buffers``. Everything else (``parameters()``, ``state_dict()``,
``train()``, the ``repr`` tree) is a walk over those three ordered dicts::

    class Net(nn.Module):
        def __init__(self):
            super().__init__()           # creates the dicts; must come first
            self.fc = nn.Linear(4, 2)    # registered as a child module named "fc"
        def forward(self, x):
            return self.fc(x).relu()

    net = Net()
    [name for name, _ in net.named_parameters()]   # ['fc.weight', 'fc.bias']

NOTE: a registered object is *also* stored as an ordinary instance attribute, so reading
``self.weight`` in ``forward`` is a plain dict hit. (Keeping it only in the registry, with a
``__getattr__`` fallback, costs about 2.5 us per read, because Python first fails the normal
lookup; that adds up in small models.) So change the registries only through attribute
assignment, ``del``, ``register_parameter``/``register_buffer``/``add_module``, never by
writing into ``_parameters`` / ``_modules`` / ``_buffers`` directly.
"""

import itertools
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor
from . import hooks as _hooks
from .hooks import RemovableHandle
from .parameter import Parameter
from .state import load_state


def _check_name(module, name, what):
    if not isinstance(name, str):
        raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f"{what} name can't be empty or contain \".\", got {name!r}")


class Module:
    """Base class of every layer and model. Subclasses call ``super().__init__()`` first, assign
    their parameters and sub-modules as attributes, and define ``forward``."""

    training: bool

    def __init__(self):
        d = self.__dict__  # NOTE: written directly: __setattr__ below needs these to exist
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent"] = set()
        d["_modules"] = {}
        d["_forward_pre_hooks"] = {}
        d["_forward_hooks"] = {}
        d["_backward_hooks"] = {}

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        # The common case costs three dict-truthiness checks; hooks take the slow path.
        if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks:
            return _hooks.call_with_hooks(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        params, modules, buffers = d.get("_parameters"), d.get("_modules"), d.get("_buffers")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call "
                                     "(call super().__init__() first in your __init__)")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(nn.Parameter or None expected); wrap it: nn.Parameter(t)")
            params[name] = d[name] = None
        elif isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call "
                                     "(call super().__init__() first in your __init__)")
            self._forget(name)
            modules[name] = d[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (Module or None expected)")
            modules[name] = d[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(Tensor or None expected)")
            buffers[name] = d[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails (registered names are instance attributes too).
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}' "
                                 "(did its __init__ forget to call super().__init__()?)")
        for store in (d["_parameters"], d["_buffers"], d["_modules"]):
            if name in store:
                return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                self._forget(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def _forget(self, name):
        """Drop ``name`` from every registry and the instance dict (before re-registering)."""
        self.__dict__.pop(name, None)
        for store in (self._parameters, self._buffers, self._modules):
            store.pop(name, None)
        self._non_persistent.discard(name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent optional one) as ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(self, name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (nn.Parameter or None required)")
        if param is not None and param._ctx is not None:
            raise ValueError(f"cannot register parameter '{name}': it is not a leaf (it was "
                             "computed by ops); use .detach() or create it from data")
        self._parameters[name] = self.__dict__[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register a tensor that is state but not learned (BatchNorm's running mean).
        Persistent buffers are saved in ``state_dict``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(self, name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (Tensor or None required)")
        self._buffers[name] = self.__dict__[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Register ``module`` as the child ``name`` (what ``self.name = module`` does)."""
        _check_name(self, name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = self.__dict__[name] = module

    register_module = add_module

    def _replace_children(self, items):
        """Re-register the children as the (name, module) pairs ``items`` (containers use it
        after a deletion or insertion, to renumber)."""
        for name in list(self._modules):
            self._forget(name)
        for name, m in items:
            self.add_module(name, m)

    def get_submodule(self, target):
        """The module at dotted path ``target`` ("" is self)."""
        mod = self
        for part in target.split(".") if target else ():
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{part}' "
                                     f"(looking up '{target}')")
            mod = mod._modules[part]
        return mod

    # ------------------------------------------------------------------ walking the tree
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for self and every descendant; each module once."""
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                           remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        memo = set()  # ids: a parameter shared by two layers is yielded once
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, t in getattr(m, store).items():
                if t is None or (remove_duplicate and id(t) in memo):
                    continue
                memo.add(id(t))
                yield (f"{mprefix}.{name}" if mprefix else name), t

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs, in registration order, shared ones once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only=False):
        """The number of scalar weights (shared parameters counted once)."""
        return sum(p.data.size for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    def apply(self, fn):
        """Call ``fn(m)`` on every descendant, children first, then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Set training mode on self and every descendant (Dropout and BatchNorm read it)."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")  # noqa: TRY004
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Evaluation mode: Dropout off, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of all parameters (None, or zeros with set_to_none=False)."""
        for p in self.parameters():
            g = p.grad
            if g is None:
                continue
            if set_to_none:
                p.grad = None
            elif g._ctx is None and g.data.flags.writeable:
                g.data.fill(0)
            else:
                p.grad = Tensor._wrap(np.zeros_like(g.data))

    # ------------------------------------------------------------------ state
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict {dotted name: numpy array} of every parameter and persistent buffer.
        The arrays are copies (changing them does not change the model). ``keep_vars=True``
        gives the Parameter / Tensor objects themselves instead."""
        dest = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                dest[prefix + name] = p if keep_vars else p.data.copy()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                dest[prefix + name] = b if keep_vars else b.data.copy()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(dest, prefix + name + ".", keep_vars)
        return dest

    def load_state_dict(self, state_dict, strict=True):
        """Copy the arrays of ``state_dict`` into the parameters and buffers of the same name.

        Returns ``(missing_keys, unexpected_keys)``. With ``strict`` either being non-empty is
        an error; a shape mismatch is always one. Every key is checked before anything is
        copied, so on an error the model is left exactly as it was.
        """
        return load_state(self, state_dict, strict)

    # ------------------------------------------------------------------ dtype
    def to(self, *args, dtype=None, device=None):
        """``to(dtype)`` converts floating parameters and buffers in place (same objects);
        ``to("cpu")`` is accepted and does nothing (the package runs on the CPU only)."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda", "mps"):
                device = a
            else:
                dtype = a
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"to: device {device!r} is not available; tinygrad_edu runs on "
                             "the CPU only")
        if dtype is None:
            return self
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"to: {dtype!r} is not a dtype") from None
        if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"to: modules can only be converted to float32 or float64, not {dt}")
        for m in self.modules():
            for t in itertools.chain(m._parameters.values(), m._buffers.values()):
                if t is not None and t.data.dtype.kind == "f" and t.data.dtype != dt:
                    t.data = t.data.astype(dt)
                    t._version += 1
                    if t.grad is not None:
                        t.grad = Tensor._wrap(t.grad.data.astype(dt))
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # ------------------------------------------------------------------ hooks
    def register_forward_pre_hook(self, hook):
        """``hook(module, args)`` runs before forward; returning a value replaces ``args``."""
        h = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[h.id] = hook
        return h

    def register_forward_hook(self, hook):
        """``hook(module, args, output)`` runs after forward; a returned value replaces
        the output."""
        h = RemovableHandle(self._forward_hooks)
        self._forward_hooks[h.id] = hook
        return h

    def register_full_backward_hook(self, hook):
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's tensor inputs are computed. ``grad_input`` / ``grad_output`` are tuples
        (None where no gradient flows); a returned tuple replaces ``grad_input``."""
        h = RemovableHandle(self._backward_hooks)
        self._backward_hooks[h.id] = hook
        return h

    # ------------------------------------------------------------------ printing
    def extra_repr(self):
        """The text inside the parentheses of this module's repr line; layers override it."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        n_extra = len(lines)
        for name, m in self._modules.items():
            body = repr(m).replace("\n", "\n  ")  # indent the child's own lines
            lines.append(f"({name}): {body}")
        if not lines:
            return f"{type(self).__name__}()"
        if n_extra == 1 and len(lines) == 1:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
