"""Catalogue of answers for each section notebook: plausible mistakes and correct variants.

One module per notebook (``s01.py`` for ``01_dataset`` …) defines ``NOTEBOOK``, ``MISTAKES``
and ``ALTERNATIVES``. The tests grade each one and check that a mistake loses exactly the
points of the test cells it names, and that an alternative keeps every point.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    """A change to the reference answer of one solution cell (Section 01)."""

    cell: str                 # grade_id of the solution cell
    why: str                  # the mistake (or the variant) in a student's words
    old: str = ""             # text of the reference answer to replace …
    new: str = ""             # … by this; or, with old == "", the whole new answer
    loses: tuple = field(default_factory=tuple)  # grade_ids of the test cells that must fail

    def apply(self, reference: str) -> str:
        """The reference answer with this change made; the change must match exactly once."""
        if not self.old:
            return self.new
        hits = reference.count(self.old)
        if hits != 1:
            raise ValueError(f"{self.cell}: {self.old!r} occurs {hits} times in the reference answer")
        return reference.replace(self.old, self.new)


def Mistake(cell, why, old="", new="", loses=()):
    """A wrong answer that must lose the points of the test cells in `loses` and no others."""
    if not loses:
        raise ValueError(f"mistake in {cell} names no test cell that should catch it")
    return Answer(cell, why, old, new, tuple(loses))


def Alternative(cell, why, old="", new=""):
    """A correct answer written differently: it must keep every point."""
    return Answer(cell, why, old, new, ())


def catalogue():
    """{notebook name: (mistakes, alternatives)} from every module of this package."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[module.NOTEBOOK] = (list(module.MISTAKES), list(module.ALTERNATIVES))
    return dict(sorted(found.items()))
