"""Example submissions built from the release: the reference, an untouched copy, and variants."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

ASSIGNMENT = "mlp_language_model"
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def nbgrader_meta(cell):
    """The nbgrader metadata of a cell ({} if none) (Section 01)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def reference_answers(source_nb):
    """{grade_id: answer} for every solution cell of an instructor notebook, markers removed."""
    answers = {}
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            lines = [l for l in cell.source.splitlines() if not _MARKER.match(l)]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def graded_cells(nb):
    """{grade_id: points} of the automatically graded (test) cells of a notebook."""
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0))
            for c in nb.cells if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")}


def answered(release_nb, answers):
    """A copy of a release notebook with the given answers typed into its solution cells."""
    nb = nbformat.from_dict(release_nb)
    nb = nbformat.reads(nbformat.writes(release_nb), as_version=4)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def with_change(release_nb, source_nb, change):
    """The reference submission with one catalogue answer (mistake or alternative) applied."""
    answers = reference_answers(source_nb)
    answers[change.cell] = change.apply(answers[change.cell])
    return answered(release_nb, answers)


def write_submission(course_root, student, notebooks, files=None):
    """Write {name: nb} as submitted/<student>/mlp_language_model/<name>.ipynb under the course,
    with {file name: bytes} handed in next to them (None: not handed in)."""
    folder = Path(course_root) / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    for name, content in (files or {}).items():
        if content is not None:
            (folder / name).write_bytes(content)
    return folder


def reference_files(notebooks):
    """{file name: bytes} the reference hands in with these notebooks (see mlpcourse.answers.FILES)."""
    from .answers import handed_in_files

    files = {}
    for name, paths in handed_in_files().items():
        if name in notebooks:
            files.update({f: Path(p).read_bytes() for f, p in paths.items()})
    return files
