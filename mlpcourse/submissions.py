"""Example submissions built from the release: the reference, an untouched copy, and variants.
Each section is its own assignment: submitted/<student>/<section>/<section>.ipynb."""
from __future__ import annotations

from pathlib import Path

import nbformat

from .course import SOLUTION_MARK, graded_cells, is_test_cell, nbgrader_meta  # noqa: F401 (re-exported for the tests)



def reference_answers(source_nb):
    """{grade_id: answer} for every solution cell of an instructor notebook, markers removed."""
    answers = {}
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            lines = SOLUTION_MARK.sub("", cell.source).splitlines()
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def answered(release_nb, answers):
    """A copy of a release notebook with the given answers typed into its solution cells."""
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


def tampered(nb):
    """A copy of a submission with every test cell tampered with: every other one deleted, the
    rest emptied to `pass` (grading must put back each of them, as the instructor wrote it)."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    tests = [c for c in nb.cells if is_test_cell(c)]
    for k, cell in enumerate(tests):
        if k % 2:
            cell.source = "pass"
        else:
            nb.cells.remove(cell)
    return nb


# An answer cell that tries to forge the tests' verdicts from inside the kernel, every way we know:
# the comparisons and the restore step replaced (attributes and code objects), every assert made
# void before it runs, assertion errors swallowed, and a partial-credit result sent before each cell.
FORGERY = """\
import sys as _fs
_ip = get_ipython()
_yes = lambda *a, **k: True
_mm = _fs.modules.get('makemore')
if _mm is not None:
    for _n in ('same', 'close', 'finite'):
        getattr(_mm.checks, _n).__code__ = _yes.__code__
    _mm.checks.restore.__code__ = (lambda *a, **k: []).__code__
    _mm._restore = lambda *a, **k: []
    _mm.checks.shape = lambda x, *a: tuple(getattr(x, 'shape', ()))
_ip.input_transformers_post.append(lambda lines: [l.replace('assert ', 'assert True or ') for l in lines])
_ip.set_custom_exc((AssertionError,), lambda *a, **k: None)
_ip.events.register('pre_run_cell', lambda *a: _ip.displayhook(1))
"""


def forger(release_nb, source_nb, mistakes):
    """The first catalogued mistake of each answer (and the first wrong file handed in, if any) in
    one submission whose first answer cell begins with FORGERY; returns (notebook, {file: bytes or
    None}, the grade_ids it must lose, a label). Forging must gain nothing: it loses them all."""
    first = list({m.cell: m for m in reversed(mistakes) if m.cell}.values())
    bad_file = next((m for m in mistakes if m.files), None)
    answers = reference_answers(source_nb)
    for m in first:
        answers[m.cell] = m.apply(answers[m.cell])
    nb = answered(release_nb, answers)
    cell = next(c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution"))
    cell.source = FORGERY + cell.source
    loses = set().union(*(m.loses for m in first + ([bad_file] if bad_file else [])))
    why = f"verdicts forged in the kernel, and {len(first)} mistakes: the first of each answer"
    return nb, dict(bad_file.files) if bad_file else {}, loses, why + (f", and {bad_file.why}" if bad_file else "")


def write_submission(course_root, student, notebooks, files=None):
    """Write {section: nb} as submitted/<student>/<section>/<section>.ipynb under the course, with
    {section: {file name: bytes}} handed in next to them (a missing section or None: none)."""
    folders = []
    for name, nb in notebooks.items():
        folder = Path(course_root) / "submitted" / student / name
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{name}.ipynb")
        for fname, content in ((files or {}).get(name) or {}).items():
            if content is not None:
                (folder / fname).write_bytes(content)
        folders.append(folder)
    return folders


def reference_files(notebooks):
    """{section: {file name: bytes}} the reference hands in with these sections (mlpcourse.answers.FILES)."""
    from .answers import handed_in_files

    return {name: {f: Path(p).read_bytes() for f, p in paths.items()}
            for name, paths in handed_in_files().items() if name in notebooks}
