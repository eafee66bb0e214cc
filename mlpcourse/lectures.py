"""The lecture at full length: re-execute the instructor notebooks, store their outputs in
source/, and write the read-along walk-throughs to notebooks/.

    python -m mlpcourse lectures [--stored | --figures] [SECTION …]

With --stored nothing runs: the walk-throughs are rewritten from the outputs stored in source/.
With --figures nothing runs either: every stored figure is saved to build/figures/ to be looked at.

Each notebook runs from a fresh kernel (papermill) in a copy of its section folder under
build/lectures/, so that what it writes (07's best_model.pt) stays out of source/. A
walk-through is the executed instructor notebook without hidden tests, solution markers or
nbgrader metadata. Commit what changed (the outputs are compared by nbval in `make test`).
"""
from __future__ import annotations

import sys
import time

import nbformat

from .assignments import copy_section
from .course import COURSE_ROOT, HIDDEN_TESTS, SOLUTION_MARK, sections, source_notebook
from .notebooks import execute, figures, tidy

BUILD = COURSE_ROOT / "build" / "lectures"


def walkthrough(executed_nb):
    """An executed instructor notebook as a read-along lecture: no hidden tests, no nbgrader metadata."""
    nb = nbformat.reads(nbformat.writes(executed_nb), as_version=4)
    for cell in nb.cells:
        cell.source = SOLUTION_MARK.sub("", HIDDEN_TESTS.sub("", cell.source)).rstrip("\n")
        cell.metadata.pop("nbgrader", None)
        if "tags" in cell.metadata and cell.metadata["tags"] != ["parameters"]:
            cell.metadata.pop("tags")
    return tidy(nb)


def run(names, log=print):
    """Execute each section at full length; update its stored outputs and its walk-through."""
    for name in names:
        start = time.perf_counter()
        folder = copy_section(name, BUILD)
        executed = execute(folder / f"{name}.ipynb", cwd=folder)
        nb = nbformat.read(executed, as_version=4)
        nbformat.write(nb, source_notebook(name))
        nbformat.write(walkthrough(nb), COURSE_ROOT / "notebooks" / f"{name}.ipynb")
        log(f"  {name:28s} ran in {time.perf_counter() - start:6.1f} s")


def write_walkthroughs(names):
    """notebooks/<section>.ipynb from the outputs stored in source/ (no run)."""
    for name in names:
        nb = nbformat.read(source_notebook(name), as_version=4)
        nbformat.write(walkthrough(nb), COURSE_ROOT / "notebooks" / f"{name}.ipynb")


def save_figures(names, dest=COURSE_ROOT / "build" / "figures"):
    """Every figure stored in the instructor notebooks, as dest/<section>-<cell id>-<k>.png, to look at."""
    saved = []
    for name in names:
        saved += figures(source_notebook(name), dest)
    return saved


def main(argv=None):
    argv = list(argv or [])
    if "--figures" in argv:
        saved = save_figures([a for a in argv if a != "--figures"] or sections())
        print(f"{len(saved)} figures in {saved[0].parent if saved else 'build/figures'}")
        return 0
    stored = "--stored" in argv
    names = [a for a in argv if a != "--stored"] or sections()
    if stored:
        write_walkthroughs(names)
    else:
        run(names)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
