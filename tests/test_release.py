"""The student release: generated from source/ by nbgrader, current, and free of solutions."""
import json
import re

import nbformat
import pytest

from mlpcourse.assignments import scratch_course
from mlpcourse.course import (COURSE_ROOT as ROOT, HIDDEN_TESTS, LIBRARY, SOLUTION, nbgrader_meta,
                              region_bodies, release_notebook, source_notebook, sections)
from mlpcourse.grading import find_parameters_cell
from mlpcourse.parts import not_answered, parts_of_cells
from mlpcourse.testcopies import LENGTH_DEPENDENT_TAGS

NAMES = sections()


def test_every_section_is_released():
    assert NAMES, "no section notebooks in source/"
    assert sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir()) == NAMES
    assert sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir()) == NAMES


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return scratch_course(NAMES, tmp_path_factory.mktemp("course")) / "release"


@pytest.mark.parametrize("name", NAMES)
def test_release_is_current(name, regenerated):
    committed = nbformat.read(release_notebook(name), as_version=4)
    fresh = nbformat.read(regenerated / name / f"{name}.ipynb", as_version=4)
    assert json.dumps(committed, sort_keys=True) == json.dumps(fresh, sort_keys=True), (
        f"release/{name}/{name}.ipynb is stale: run `make release` and commit it")
    assert (ROOT / "release" / name / LIBRARY).read_text() == (regenerated / name / LIBRARY).read_text(), (
        f"release/{name}/{LIBRARY} is stale: run `make release` and commit it")


@pytest.mark.parametrize("name", NAMES)
def test_release_holds_no_solution_or_hidden_test(name):
    source = nbformat.read(source_notebook(name), as_version=4)
    text = release_notebook(name).read_text()
    released = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    secret_lines, public_lines = set(), set()
    for cell in source.cells:
        for block in region_bodies(HIDDEN_TESTS, cell.source) + region_bodies(SOLUTION, cell.source):
            secret_lines |= {l.strip() for l in block.splitlines() if len(l.strip()) > 12}
        public = SOLUTION.sub("", HIDDEN_TESTS.sub("", cell.source))
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "markdown":
            secret_lines |= {l.strip() for l in cell.source.splitlines() if len(l.strip()) > 30}
        else:
            public_lines |= {l.strip() for l in public.splitlines()}
    released_lines = {l.strip() for l in released.splitlines()}
    # a line that the source also shows outside its secret regions is public anyway
    leaked = sorted((secret_lines - public_lines) & released_lines)
    assert not leaked, f"release/{name} shows solution or hidden-test lines: {leaked[:3]}"


def _graded(nb):
    return [c for c in nb.cells if nbgrader_meta(c).get("grade")]


def test_graded_cells_have_unique_ids_and_points():
    seen = {}
    for name in NAMES:
        nb = nbformat.read(source_notebook(name), as_version=4)
        for cell in _graded(nb):
            meta = nbgrader_meta(cell)
            gid = meta["grade_id"]
            assert gid not in seen, f"grade_id {gid} is used in {seen[gid]} and {name}"
            seen[gid] = name
            assert float(meta.get("points", 0)) > 0, f"{name}: {gid} has no points"
            assert re.fullmatch(r"[a-z][a-z0-9_]*", gid), f"{name}: grade_id {gid!r} is not readable"
    assert seen


@pytest.mark.parametrize("name", NAMES)
def test_notebook_structure(name):
    nb = nbformat.read(source_notebook(name), as_version=4)
    index = find_parameters_cell(nb)
    assert index >= 0, f"{name} has no parameters cell"
    cell = nb.cells[index]
    assert "parameters" in cell.metadata.get("tags", []) and nbgrader_meta(cell).get("locked"), (
        f"{name}: the parameters cell must be tagged 'parameters' and locked")
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids), f"{name}: duplicate cell ids"
    for c in nb.cells:
        extra = set(c.metadata) - {"nbgrader", "tags"}
        assert not extra, f"{name}: cell {c.id} carries stray metadata {sorted(extra)}"
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, f"{name}: stray notebook metadata"
    # every test cell follows the solution it checks; every solution is followed by a test
    last_solution = None
    for c in nb.cells:
        meta = nbgrader_meta(c)
        if meta.get("solution") and not meta.get("grade"):
            last_solution = meta["grade_id"]
        elif meta.get("grade") and not meta.get("solution"):
            assert last_solution, f"{name}: test {meta['grade_id']} comes before any answer cell"
    # answer cells raise NotImplementedError in the release, naming their Part (the heading above
    # them), and a written answer's stub names its Part too: Validate reads them (student/nbgrader_parts.py)
    rel = nbformat.read(release_notebook(name), as_version=4)
    for c, part in zip(rel.cells, parts_of_cells(rel.cells)):
        meta = nbgrader_meta(c)
        if not meta.get("solution"):
            continue
        assert part, f"{name}: {meta['grade_id']} is under no Part heading"
        if c.cell_type == "code":
            assert f"raise NotImplementedError({not_answered(part[0])!r})" in c.source, (
                f"{name}: {meta['grade_id']} has no stub naming Part {part[0]}:\n{c.source}")
        else:
            assert c.source.startswith(f"YOUR ANSWER HERE (Part {part[0]}"), f"{name}: {meta['grade_id']}: {c.source!r}"


def test_every_graded_cell_has_a_catalogued_mistake():
    from mlpcourse.answers import catalogue
    from mlpcourse.submissions import graded_cells

    cat = catalogue()
    for name in NAMES:
        nb = nbformat.read(source_notebook(name), as_version=4)
        mistakes, alternatives = cat.get(name, ([], []))
        caught = {gid for m in mistakes for gid in m.loses}
        missing = set(graded_cells(nb)) - caught
        assert not missing, f"{name}: no catalogued mistake loses the points of {sorted(missing)}"
        assert alternatives, f"{name}: no correct-but-different answer in the catalogue"


@pytest.mark.parametrize("name", NAMES)
def test_walkthrough_is_the_executed_instructor_notebook(name):
    """notebooks/<section>.ipynb is source/ with its stored outputs (which nbval reproduces),
    minus hidden tests and nbgrader metadata: `make lectures` (or `lectures --stored`) wrote it."""
    from mlpcourse.lectures import walkthrough

    stored = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    fresh = walkthrough(nbformat.read(source_notebook(name), as_version=4))
    assert json.dumps(stored, sort_keys=True) == json.dumps(fresh, sort_keys=True), (
        f"notebooks/{name}.ipynb is stale: run `make lectures` (or `python -m mlpcourse lectures --stored`)")
    text = (ROOT / "notebooks" / f"{name}.ipynb").read_text()
    assert "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text


def _printed(nb):
    """What the notebook's stored outputs show as text, in the cells nbval compares bit for bit: a
    long run's output (tolerance-tagged) is one CPU's rounding, and another CPU prints other digits."""
    loose = {*LENGTH_DEPENDENT_TAGS, "nbval-ignore-output", "nbval-skip"}
    texts = []
    for cell in nb.cells:
        if loose & set(cell.get("metadata", {}).get("tags", [])):
            continue
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            texts.append(text if isinstance(text, str) else "".join(text))
    return "\n".join(texts)


# Numbers the prose quotes as the lecture's (the seeds' task list prints them), from a run whose
# later digits another CPU may not reproduce: the student reads them as the lecture's, not as theirs.
LECTURE_QUOTES = {"03_training": ["19.5052", "17.0845", "15.7765"]}


@pytest.mark.parametrize("name", NAMES)
def test_numbers_in_the_prose_are_printed_by_the_notebook(name):
    """A loss quoted to four decimals in what students read (markdown that is not a model answer)
    is one the notebook prints in a cell compared bit for bit: the lecture's seeded numbers are, and
    a number that only one run on one CPU produced would drift from the student's own output (say
    'printed above' instead)."""
    nb = nbformat.read(source_notebook(name), as_version=4)
    printed = _printed(nb)
    stray = [(cell.id, number) for cell in nb.cells
             if cell.cell_type == "markdown" and not nbgrader_meta(cell).get("solution")
             for number in re.findall(r"(?<![\d.])\d+\.\d{4}(?!\d)", cell.source)
             if number not in printed and number not in LECTURE_QUOTES.get(name, [])]
    assert not stray, f"{name}: prose quotes numbers its outputs do not show (cell id, number): {stray}"
