"""Catalogue of answers for each section notebook: plausible mistakes and correct variants.

One module per notebook (``s01.py`` for ``01_dataset`` …) defines ``NOTEBOOK``, ``MISTAKES``
and ``ALTERNATIVES``, and ``FILES`` ({name: path}) when students hand in files next to the
notebook (the reference submission carries them). The tests grade each one and check that a mistake loses exactly the
points of the test cells it names, and that an alternative keeps every point.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    """A change to the reference answer of one solution cell, or to a file handed in."""

    cell: str                 # grade_id of the solution cell ("" for a change to files only)
    why: str                  # the mistake (or the variant) in a student's words
    old: str = ""             # text of the reference answer to replace …
    new: str = ""             # … by this; or, with old == "", the whole new answer
    loses: tuple = field(default_factory=tuple)  # grade_ids of the test cells that must fail
    files: tuple = field(default_factory=tuple)  # ((name, bytes or None), …): files handed in instead

    def apply(self, reference: str) -> str:
        """The reference answer with this change made; the change must match exactly once."""
        if not self.old:
            return self.new
        hits = reference.count(self.old)
        if hits != 1:
            raise ValueError(f"{self.cell}: {self.old!r} occurs {hits} times in the reference answer")
        return reference.replace(self.old, self.new)


def mistake(cell, why, old="", new="", loses=()):
    """A wrong answer that must lose the points of the test cells in `loses` and no others."""
    if not loses:
        raise ValueError(f"mistake in {cell} names no test cell that should catch it")
    return Answer(cell, why, old, new, tuple(loses))


def file_mistake(name, why, content, loses):
    """A file handed in next to the notebook (None: not handed in) that must lose `loses`."""
    return Answer("", why, loses=tuple(loses), files=((name, content),))


def alternative(cell, why, old="", new=""):
    """A correct answer written differently: it must keep every point."""
    return Answer(cell, why, old, new, ())


def _modules():
    for info in pkgutil.iter_modules(__path__):
        yield importlib.import_module(f"{__name__}.{info.name}")


def catalogue():
    """{notebook name: (mistakes, alternatives)} from every module of this package."""
    found = {m.NOTEBOOK: (list(m.MISTAKES), list(m.ALTERNATIVES)) for m in _modules()}
    return dict(sorted(found.items()))


def handed_in_files():
    """{notebook name: {file name: path}}: files the reference submission hands in with a notebook."""
    return {m.NOTEBOOK: dict(getattr(m, "FILES", {})) for m in _modules() if getattr(m, "FILES", None)}
