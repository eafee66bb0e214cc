"""The alias attack: answers that hand their work to a function of the section's makemore.py.

A student's makemore.py holds the course's code of earlier sections. Where a graded function of
this section has a stand-in there (the same name, or the same parameters), an answer could call
it instead of doing the work. Each such answer is a catalogued mistake: it must lose the points
of every test cell that calls the function, and keep all others (graded with the catalogue,
mlpcourse.check). This module only writes the answers; it never grades.
"""
from __future__ import annotations

import ast
import re

import nbformat

from .answers import mistake
from .course import COURSE_ROOT, LIBRARY, is_test_cell, nbgrader_meta, source_notebook

_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$", re.M)


def functions(text, required=False):
    """{name: [parameter names]} of the top-level functions of Python source; with required, only
    the parameters a caller must pass (those without a default)."""
    def names(a):
        positional = a.posonlyargs + a.args
        if required:
            return [p.arg for p in positional[:len(positional) - len(a.defaults)]] + \
                   [p.arg for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]
        return [p.arg for p in positional + a.kwonlyargs]
    return {n.name: names(n.args) for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}


def answer_functions(source_nb, required=False):
    """{function: (parameters, grade_id of its answer cell)} defined by the code answer cells;
    with required, only the parameters without a default."""
    found = {}
    for cell in source_nb.cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            for f, args in functions(_MARKER.sub("", cell.source), required).items():
                found[f] = (args, nbgrader_meta(cell)["grade_id"])
    return found


def targets(name, root=COURSE_ROOT):
    """[(answer function, its cell, library function)] of a section: same name, or the same
    parameters (an answer's extra parameters with defaults, like 05's chunk, do not count)."""
    library = functions((root / "release" / name / LIBRARY).read_text())
    source_nb = nbformat.read(source_notebook(name, root), as_version=4)
    return [(f, cell, g) for f, (args, cell) in answer_functions(source_nb, required=True).items()
            for g, gargs in library.items() if not g.startswith("_") and (g == f or gargs == args)]


def attacks(name, root=COURSE_ROOT):
    """The alias attack on a section as catalogued mistakes: for each target, an answer that wraps
    the library function, one that aliases it, and one that calls it with the same parameters."""
    source_nb = nbformat.read(source_notebook(name, root), as_version=4)
    params = {f: ", ".join(args) for f, (args, _) in answer_functions(source_nb, required=True).items()}
    mistakes = []
    for f, cell, g in targets(name, root):
        calls = re.compile(rf"(?<![\w.]){f}\(")
        loses = sorted(nbgrader_meta(c)["grade_id"] for c in source_nb.cells
                       if is_test_cell(c) and calls.search(c.source))
        if not loses:
            raise ValueError(f"{name}: no test cell calls {f}, so handing it to makemore.{g} cannot be caught")
        for kind, text in [("wraps", f"def {f}(*args, **kwargs):\n    return makemore.{g}(*args, **kwargs)"),
                           ("aliases", f"{f} = makemore.{g}"),
                           ("calls", f"def {f}({params[f]}, *args, **kwargs):\n    return makemore.{g}({params[f]})")]:
            mistakes.append(mistake(cell, f"alias attack: {f} {kind} makemore.{g}", new=text, loses=loses))
    return mistakes
