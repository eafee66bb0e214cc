"""What a student receives for a section: its release folder and requirements-student.txt.

Nothing in it answers a graded cell that is still open: the folder holds the notebook and its
makemore.py only, makemore.py holds the runtime and the code of earlier sections only, and an
answer that hands its work to any function the student can reach there (same name, or same
parameters) earns nothing (the alias attack, graded by nbgrader)."""
import ast
import re

import nbformat
import pytest

from conftest import ROOT, section_names
from mlpcourse.check import scratch_course
from mlpcourse.classroom import grade_class
from mlpcourse.course import LIBRARY, graded_cells, is_test_cell, nbgrader_meta, release_notebook, source_notebook
from mlpcourse.library import RUNTIME, saved_functions, write_libraries
from mlpcourse.submissions import answered, reference_answers, reference_files, write_submission

NAMES = section_names()
STUDENT_PACKAGES = {"torch", "matplotlib", "jupyterlab", "nbgrader"}
_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _source(name):
    return nbformat.read(source_notebook(name), as_version=4)


def _functions(text):
    """{name: [parameter names]} of the top-level functions of Python source."""
    return {n.name: [a.arg for a in n.args.posonlyargs + n.args.args + n.args.kwonlyargs]
            for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}


def _answer_functions(name):
    """{function: parameters} defined by the code answer cells of a section."""
    found = {}
    for cell in _source(name).cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            text = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$", "", cell.source, flags=re.M)
            found.update({f: (args, nbgrader_meta(cell)["grade_id"]) for f, args in _functions(text).items()})
    return found


def _bundle_text(name):
    nb = nbformat.read(release_notebook(name), as_version=4)
    return "\n".join(c.source for c in nb.cells) + "\n" + (ROOT / "release" / name / LIBRARY).read_text()


def _squeeze(text):
    return re.sub(r"#[^\n]*|\s+", "", text)


def test_libraries_are_generated_from_the_current_notebooks():
    stale = write_libraries(check=True)
    assert not stale, f"{[str(p) for p in stale]} are stale: run `make release` and commit"


@pytest.mark.parametrize("name", NAMES)
def test_release_folder_holds_the_notebook_and_its_library_only(name):
    folder = ROOT / "release" / name
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == sorted([f"{name}.ipynb", LIBRARY]), f"release/{name} holds {files}"


@pytest.mark.parametrize("name", NAMES)
def test_library_holds_code_of_earlier_sections_only(name):
    """Release order: release/<section N>/makemore.py holds the runtime and code from sections before N."""
    text = (ROOT / "release" / name / LIBRARY).read_text()
    origins = re.findall(r"^# --- from (\d\d_\w+) ", text, re.M)
    assert all(o < name for o in origins), f"release/{name}/{LIBRARY} holds code of {origins}"
    earlier = {f for s in NAMES if s < name for f, _ in saved_functions(_source(s))}
    assert set(_functions(text)) == set(_functions(RUNTIME.read_text())) | earlier


@pytest.mark.parametrize("name", NAMES)
def test_bundle_shows_no_answer_or_hidden_test_of_this_section_or_a_later_one(name):
    bundle = _squeeze(_bundle_text(name))
    assert "BEGINSOLUTION" not in bundle and "HIDDENTESTS" not in bundle
    for later in [s for s in NAMES if s >= name]:
        for cell in _source(later).cells:
            for block in _SOLUTION.findall(cell.source) + _HIDDEN.findall(cell.source):
                secret = _squeeze(block)
                if len(secret) >= 25:  # shorter ones (`return C[X]`) say too little to be told apart
                    assert secret not in bundle, f"release/{name} shows an answer or hidden test of {later}: {block[:80]!r}"


def test_student_requirements_hold_no_course_code():
    lines = [l.split("#")[0].strip() for l in (ROOT / "requirements-student.txt").read_text().splitlines()]
    names = {re.split(r"[=<>\[ ;]", l)[0].lower() for l in lines if l}
    assert names == STUDENT_PACKAGES, f"requirements-student.txt lists {sorted(names)}"
    assert not any(l.startswith(("-e", ".", "/", "git+", "file:")) or "mlpcourse" in l for l in lines if l)


def _attacks(name):
    """[(answer function, its cell, library function)]: same name, or same parameters."""
    library = _functions((ROOT / "release" / name / LIBRARY).read_text())
    found = []
    for f, (args, cell) in _answer_functions(name).items():
        for g, gargs in library.items():
            if not g.startswith("_") and (g == f or gargs == args):
                found.append((f, cell, g))
    return found


ATTACKED = [n for n in NAMES if _attacks(n)]


def test_the_alias_attack_has_targets():
    """The library of later sections offers stand-ins for some graded functions; list them."""
    pairs = {(n, f, g) for n in NAMES for f, _, g in _attacks(n)}
    print("\n".join(f"{n}: {f} -> makemore.{g}" for n, f, g in sorted(pairs)))
    assert {("05_splits", "evaluate", "loss_on"), ("06_capacity", "forward", "forward"),
            ("07_sampling_and_tuning", "train", "train_mlp"), ("07_sampling_and_tuning", "split_loss", "loss_on")} <= pairs


@pytest.mark.parametrize("name", ATTACKED)
def test_alias_attack_earns_nothing(name, tmp_path):
    """Answer cells that hand their work to a library function (a wrapper, or the function itself)
    earn 0 in every test cell that calls them; every other test cell keeps its points."""
    source = _source(name)
    course = scratch_course([name], tmp_path / "course")
    release = nbformat.read(release_notebook(name, course), as_version=4)
    points = graded_cells(source)
    files = reference_files([name])
    expect = {}
    for f, cell, g in _attacks(name):
        params = ", ".join(_answer_functions(name)[f][0])
        for kind, text in [("wrapper", f"def {f}(*args, **kwargs):\n    return makemore.{g}(*args, **kwargs)"),
                           ("alias", f"{f} = makemore.{g}"),
                           ("call", f"def {f}({params}):\n    return makemore.{g}({params})")]:
            student = f"{kind}-{f}-{g}"
            answers = reference_answers(source)
            answers[cell] = text
            write_submission(course, student, {name: answered(release, answers)}, files)
            calls = re.compile(rf"(?<![\w.]){f}\(")
            expect[student] = {nbgrader_meta(c)["grade_id"] for c in source.cells
                               if is_test_cell(c) and calls.search(c.source)}
    report = grade_class(course, workers=1, feedback=False, progress=False, assignments=[name])
    got = {r["student"]: r["grades"] for r in report["results"]}
    total = sum(points.values())
    for student, zeroed in expect.items():
        earned = {gid: got[student][gid]["auto_score"] or 0.0 for gid in points}
        print(f"{name} {student}: {sum(earned.values()):.1f}/{total:.1f}")
        assert zeroed, f"{student}: no test cell calls the attacked function"
        for gid in zeroed:
            assert earned[gid] == 0, f"{student}: {gid} earned {earned[gid]} for an answer that hands its work to the library"
        for gid in set(points) - zeroed:
            assert earned[gid] == points[gid], f"{student}: {gid} lost points it should keep ({earned[gid]}/{points[gid]})"
