"""The copies of the section folders that nbval checks, written to build/nbval/ (or DEST).

    python -m mlpcourse nbval-copies [--full] [DEST]

Short (the default, what `make test` checks): each instructor notebook with papermill's
injected-parameters cell holding its grading parameters (``c.InjectParameters.parameters`` of
nbgrader_config.py), so every cell runs, at the length a notebook is graded at. The outputs that
do not depend on a run's length (the data, the shapes, the seeded losses, the lecture's published
numbers) are compared bit for bit as stored; the cells whose output comes from a training run of
the lecture's length (tagged ``nbval-tolerance``, ``nbval-tolerance-unstable`` or
``nbval-full-length``) must run without error, and their output is not compared.

--full (what `make test-lectures` checks): the notebooks as they are, at the lecture's length;
every stored output is compared, the tagged long runs within the tolerance of
tests/nbval_tolerance.py.

Each copy holds the notebook, its makemore.py and the files a student hands in with it (07's
best_model.pt, which the short run does not train), so nothing a run writes lands in source/.
Never writes outside DEST.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat

from .course import COURSE_ROOT, LIBRARY, grading_parameters, sections, source_notebook

# Cells whose output depends on the length of a run: compared only at full length.
LENGTH_DEPENDENT_TAGS = ("nbval-tolerance", "nbval-tolerance-unstable", "nbval-full-length")
DEST = COURSE_ROOT / "build" / "nbval"


def short_notebook(nb, parameters):
    """nb with its grading parameters injected (papermill) and the length-dependent outputs not compared."""
    from papermill.parameterize import parameterize_notebook

    if parameters:
        nb.metadata["papermill"] = {}  # where papermill records the values it injected
        untagged = [c for c in nb.cells if "tags" not in c.metadata]
        for cell in untagged:  # papermill reads every cell's tags
            cell.metadata["tags"] = []
        nb = parameterize_notebook(nb, parameters, report_mode=False, kernel_name="python3", language="python")
        for cell in nb.cells:
            if not cell.metadata.get("tags", True):
                del cell.metadata["tags"]
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if any(t in LENGTH_DEPENDENT_TAGS for t in tags):
            cell.metadata["tags"] = [t for t in tags if t not in LENGTH_DEPENDENT_TAGS] + ["nbval-ignore-output"]
    return nb


def write_copies(dest=DEST, full=False, names=None):
    """Write dest/<section>/ for every section (short unless `full`); return the folders."""
    from .submissions import reference_files

    dest = Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    names = names or sections()
    parameters = grading_parameters()
    handed_in = {} if full else reference_files(names)
    folders = []
    for name in names:
        folder = dest / name
        folder.mkdir(parents=True)
        nb = nbformat.read(source_notebook(name), as_version=4)
        if not full:
            nb = short_notebook(nb, parameters.get(name) or {})
        nbformat.write(nb, folder / f"{name}.ipynb")
        shutil.copy(source_notebook(name).parent / LIBRARY, folder)
        for fname, content in handed_in.get(name, {}).items():
            (folder / fname).write_bytes(content)
        folders.append(folder)
    return folders


def main(argv=None):
    argv = list(argv or [])
    full = "--full" in argv
    rest = [a for a in argv if a != "--full"]
    folders = write_copies(Path(rest[0]) if rest else DEST, full=full)
    print(f"nbval copies ({'full length' if full else 'grading parameters'}): {len(folders)} sections in "
          f"{folders[0].parent if folders else DEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
