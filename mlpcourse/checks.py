"""Comparisons for hidden tests that an answer cell cannot redefine.

The notebooks' locked first cell imports ``mlpcourse`` before any answer cell runs, and this
module captures the comparison helpers then. ``restore()`` puts back any that an answer cell
has replaced since (``torch.allclose``, ``torch.equal``, ``Tensor.__eq__``, ``math.isclose``,
builtins such as ``abs`` or ``all`` …), and ``same``/``close`` compare through the C-level
tensor methods and values captured here, never through names an answer cell can rebind.
"""
from __future__ import annotations

import builtins
import math

import torch

_Base = torch._C.TensorBase
_tolist = _Base.tolist
_size = _Base.size
_dtype = _Base.dtype.__get__
_is_tensor = torch.is_tensor
_abs, _len, _zip, _tuple, _isinstance, _float, _list = abs, len, zip, tuple, isinstance, float, list
_isnan, _isinf = math.isnan, math.isinf

_WATCHED = {
    torch: ["allclose", "equal", "isclose", "eq", "ne", "all", "any", "isfinite", "abs", "tensor",
            "is_tensor", "randn", "randint", "Generator", "manual_seed", "cat", "stack", "tanh", "exp", "log",
            "softmax"],
    torch.Tensor: ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__",
                   "__int__", "__len__", "__getitem__", "__sub__", "__rsub__", "__abs__", "__hash__", "all",
                   "any", "item", "tolist", "abs", "equal", "allclose", "isclose", "eq", "sum", "max", "min",
                   "numel", "nelement", "size", "dim", "float", "double", "to", "detach", "clone", "view",
                   "reshape", "shape", "dtype", "exp", "log", "mean", "std", "__repr__"],
    math: ["isclose", "isfinite", "isnan", "isinf", "log", "exp", "sqrt"],
    builtins: ["abs", "all", "any", "float", "int", "len", "isinstance", "sum", "max", "min", "round", "tuple",
               "list", "zip", "range", "type", "str", "repr", "print", "next", "enumerate", "bool", "dict",
               "set", "sorted", "getattr", "hasattr", "AssertionError", "Exception", "open", "pow"],
}
_MISSING = object()


def _snapshot():
    snap = {}
    for owner, names in _WATCHED.items():
        table = owner.__dict__ if _isinstance(owner, type) else vars(owner)
        for name in names:
            snap[(owner, name)] = table.get(name, _MISSING)
    return snap


_ORIGINALS = _snapshot()


def tampered():
    """Names of watched helpers that differ from the originals captured at import (Section 01)."""
    now = _snapshot()
    return sorted(f"{getattr(o, '__name__', o)}.{n}" for (o, n), v in now.items() if v is not _ORIGINALS[(o, n)])


def restore():
    """Put back every watched helper an answer cell has replaced; return their names (Section 01)."""
    return _restore()


def watch_course():
    """Also restore the course's own functions, and this module's, before each test (Section 01)."""
    import sys

    package = sys.modules[__name__.rpartition(".")[0]]
    for owner in [package] + [sys.modules[n] for n in sorted(sys.modules) if n.startswith(package.__name__ + ".")]:
        names = [n for n in vars(owner) if not (n.startswith("__") and n.endswith("__"))]
        _WATCHED.setdefault(owner, [])
        for name in names:
            if name not in _WATCHED[owner]:
                _WATCHED[owner].append(name)
                _ORIGINALS[(owner, name)] = vars(owner)[name]


def plain(x):
    """A tensor (or number) as plain Python numbers and lists, read through C-level methods (Section 01)."""
    if _is_tensor(x):
        return _tolist(x)
    return x


def shape(x):
    """The shape of a tensor as a tuple of ints (Section 01)."""
    return _tuple(_size(x))


def dtype(x):
    """The dtype of a tensor (Section 01)."""
    return _dtype(x)


def _flat(x):
    x = plain(x)
    if _isinstance(x, (_list, _tuple)):
        out = []
        for item in x:
            out.extend(_flat(item))
        return out
    return [x]


def close(a, b, atol=1e-5, rtol=1e-5):
    """True when a and b (tensors or numbers) have the same shape and values within tolerance (Section 01)."""
    if _is_tensor(a) and _is_tensor(b) and shape(a) != shape(b):
        return False
    if _isinstance(plain(a), (_list, _tuple)) != _isinstance(plain(b), (_list, _tuple)):
        return False
    fa, fb = _flat(a), _flat(b)
    if _len(fa) != _len(fb):
        return False
    for x, y in _zip(fa, fb):
        x, y = _float(x), _float(y)
        if _isnan(x) or _isnan(y):
            return False
        if _isinf(x) or _isinf(y):
            if x != y:
                return False
            continue
        if _abs(x - y) > atol + rtol * _abs(y):
            return False
    return True


def same(a, b):
    """True when a and b have the same shape and exactly equal values (Section 01)."""
    return close(a, b, atol=0.0, rtol=0.0)


def finite(x):
    """True when every value of a tensor (or number) is finite: no inf, no nan (Section 02)."""
    for v in _flat(x):
        v = _float(v)
        if _isnan(v) or _isinf(v):
            return False
    return True


def _make_restore(originals, isinstance_, vars_, setattr_, delattr_, missing):
    """restore() bound to values captured now, so that it does not depend on names it repairs."""
    def _restore():
        changed = []
        for (owner, name), value in list(originals.items()):
            table = owner.__dict__ if isinstance_(owner, type) else vars_(owner)
            if table.get(name, missing) is value:
                continue
            changed.append(f"{getattr(owner, '__name__', owner)}.{name}")
            if value is missing:
                delattr_(owner, name)
            else:
                setattr_(owner, name, value)
        changed.sort()
        return changed
    return _restore


_restore = _make_restore(_ORIGINALS, isinstance, vars, setattr, delattr, _MISSING)
