"""The comparisons the tests use, captured before any answer runs, and the refusal of the course's
own functions inside an answer (makemore.checks).

mlpcourse.library copies this text into each section's makemore.py, after mlpcourse/runtime.py. The
hidden checks take their verdict in the grader (mlpcourse.hidden_checks); these helpers keep the
visible asserts' messages true in the student's kernel and refuse delegation there.
"""
import builtins
import contextlib
import copy
import math
import sys
import types

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode

# --- comparisons for the tests ------------------------------------------------------------
# Captured when this module is imported (the locked first cell of every notebook), before any
# answer runs. restore() puts back whatever an answer cell has replaced since; the comparisons
# read values through C-level tensor methods and these captured names only.

_Base = torch._C.TensorBase
_tolist = _Base.tolist
_size = _Base.size
_dtype = _Base.dtype.__get__
_is_tensor = torch.is_tensor
_abs, _len, _zip, _tuple, _isinstance, _float, _list = abs, len, zip, tuple, isinstance, float, list
_isnan, _isinf = math.isnan, math.isinf
_setattr, _getattr = setattr, getattr
_FunctionType = types.FunctionType

_WATCHED = {
    torch: ["allclose", "equal", "isclose", "eq", "ne", "all", "any", "isfinite", "abs", "tensor",
            "is_tensor", "randn", "randint", "Generator", "manual_seed", "cat", "stack", "tanh", "exp", "log",
            "softmax", "multinomial", "arange", "zeros", "logsumexp", "log_softmax"],
    torch.Tensor: ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__",
                   "__int__", "__len__", "__getitem__", "__sub__", "__rsub__", "__abs__", "__hash__", "all",
                   "any", "item", "tolist", "abs", "equal", "allclose", "isclose", "eq", "sum", "max", "min",
                   "numel", "nelement", "size", "dim", "float", "double", "to", "detach", "clone", "view",
                   "reshape", "shape", "dtype", "exp", "log", "mean", "std", "__repr__"],
    math: ["isclose", "isfinite", "isnan", "isinf", "log", "exp", "sqrt"],
    F: ["cross_entropy", "softmax", "log_softmax", "one_hot"],
    builtins: ["abs", "all", "any", "float", "int", "len", "isinstance", "sum", "max", "min", "round", "tuple",
               "list", "zip", "range", "type", "str", "repr", "print", "next", "enumerate", "bool", "dict",
               "set", "sorted", "getattr", "hasattr", "AssertionError", "Exception", "open", "pow"],
}
_MISSING = object()
_ORIGINALS = {}


def _table(owner):
    return owner.__dict__ if _isinstance(owner, type) else vars(owner)


def _watch(owner, names):
    for name in names:
        _ORIGINALS.setdefault((owner, name), _table(owner).get(name, _MISSING))


for _owner, _names in _WATCHED.items():
    _watch(_owner, _names)


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


def restore():
    """Put back every watched helper an answer cell has replaced; return their names."""
    return _restore()


def tampered():
    """Names of watched helpers that differ from the originals captured at import."""
    return sorted(f"{getattr(o, '__name__', o)}.{n}" for (o, n), v in _ORIGINALS.items()
                  if _table(o).get(n, _MISSING) is not v)


def plain(x):
    """A tensor (or number) as plain Python numbers and lists, read through C-level methods."""
    if _is_tensor(x):
        return _tolist(x)
    return x


def shape(x):
    """The shape of a tensor as a tuple of ints."""
    return _tuple(_size(x))


def dtype(x):
    """The dtype of a tensor."""
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
    """True when a and b (tensors or numbers) have the same shape and values within tolerance."""
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
    """True when a and b have the same shape and exactly equal values."""
    return close(a, b, atol=0.0, rtol=0.0)


def finite(x):
    """True when every value of a tensor (or number) is finite: no inf, no nan."""
    for v in _flat(x):
        v = _float(v)
        if _isnan(v) or _isinf(v):
            return False
    return True


class Refused(BaseException):
    """Raised when an answer calls a function a test has refused (not an Exception, so that an
    answer's `except Exception` does not hide it)."""


_REFUSED_CALLS = []


def _refused_call():
    name = sys._getframe(1).f_code.co_name
    _REFUSED_CALLS.append(name)
    raise Refused(f"{name} is the course's code, not this answer's")


def _stand_in(*args, **kwargs):
    _refused_call()


@contextlib.contextmanager
def refusing(*functions):
    """While the block runs, every call of these functions, under any name, raises Refused; yields
    a list that holds, once the block is over, the names of those that were called. A test wraps
    an answer in it so that handing the work to the course's code of an earlier section earns
    nothing. A Refused that escapes the answer ends the block quietly: check the list after it."""
    called = []
    saved = []
    start = _len(_REFUSED_CALLS)
    for fn in functions:
        if _isinstance(fn, _FunctionType) and not fn.__code__.co_freevars:
            saved.append((fn, fn.__code__))
            _setattr(fn, "__code__", _STAND_IN.replace(co_name=fn.__name__, co_qualname=fn.__name__))
    try:
        yield called
    except Refused:
        pass
    finally:
        for fn, code in saved:
            _setattr(fn, "__code__", code)
        called.extend(_REFUSED_CALLS[start:])
        del _REFUSED_CALLS[start:]


_STAND_IN = _stand_in.__code__


class _RefuseOps(TorchDispatchMode):
    """Refuses the ATen operators in `ops` (overload packets) however a call reaches them."""

    def __init__(self, ops):
        super().__init__()
        self.ops = ops

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket in self.ops:
            _REFUSED_CALLS.append(func.overloadpacket.__name__)
            raise Refused(f"{func.overloadpacket.__name__} is PyTorch's own kernel for what this answer should compute")
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def refusing_ops(*ops):
    """refusing() for PyTorch's operators, given as ATen overload packets (torch.ops.aten._softmax):
    while the block runs, every call that reaches one of them raises Refused, whether it came
    through torch.softmax, Tensor.softmax, F.softmax, nn.Softmax or torch.ops. Yields the list of
    the refused operators' names, filled when the block is over."""
    called = []
    start = _len(_REFUSED_CALLS)
    try:
        with _RefuseOps(_tuple(ops)):
            yield called
    except Refused:
        pass
    finally:
        called.extend(_REFUSED_CALLS[start:])
        del _REFUSED_CALLS[start:]

_REMEMBERED = {}


def remember(key, compute):
    """compute(), run once per process for each key, then a copy of what it returned: for a hidden
    test's own reference run, which never depends on the answer (the grader keeps its copy of this
    module for every notebook of the section it grades; in a notebook, nothing changes)."""
    if key not in _REMEMBERED:
        _REMEMBERED[key] = compute()
    return copy.deepcopy(_REMEMBERED[key])


# the comparisons as one namespace, as the tests use them: makemore.checks.same(...)
checks = types.ModuleType("makemore.checks", "Comparisons for the tests, captured before any answer ran.")
for _f in (restore, tampered, plain, shape, dtype, close, same, finite, refusing, refusing_ops, Refused, remember):
    _setattr(checks, _f.__name__, _f)
