"""What a student receives for a section: its release folder and requirements-student.txt.

Nothing in it answers a graded cell that is still open: the folder holds the notebook and its
makemore.py only, makemore.py holds the runtime and the code of earlier sections only, and an
answer that hands its work to any function the student can reach there (same name, or same
parameters) earns nothing (the alias attack, mlpcourse.aliases, graded with the catalogue)."""
import re

import nbformat
import pytest

from mlpcourse.aliases import attacks as alias_attacks, functions, targets as alias_targets
from mlpcourse.course import (COURSE_ROOT as ROOT, HIDDEN_TESTS, LIBRARY, SOLUTION, region_bodies,
                              release_notebook, source_notebook, sections)
from mlpcourse.library import RUNTIME_PARTS, saved_functions, write_libraries

NAMES = sections()
STUDENT_PACKAGES = {"torch", "matplotlib", "jupyterlab", "nbgrader"}


def _source(name):
    return nbformat.read(source_notebook(name), as_version=4)


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
    runtime = set().union(*(functions(part.read_text()) for part in RUNTIME_PARTS))
    assert set(functions(text)) == runtime | earlier


@pytest.mark.parametrize("name", NAMES)
def test_bundle_shows_no_answer_or_hidden_test_of_this_section_or_a_later_one(name):
    bundle = _squeeze(_bundle_text(name))
    assert "BEGINSOLUTION" not in bundle and "HIDDENTESTS" not in bundle
    for later in [s for s in NAMES if s >= name]:
        for cell in _source(later).cells:
            for block in region_bodies(SOLUTION, cell.source) + region_bodies(HIDDEN_TESTS, cell.source):
                secret = _squeeze(block)
                if len(secret) >= 25:  # shorter ones (`return C[X]`) say too little to be told apart
                    assert secret not in bundle, f"release/{name} shows an answer or hidden test of {later}: {block[:80]!r}"


def test_student_requirements_hold_no_course_code():
    lines = [l.split("#")[0].strip() for l in (ROOT / "requirements-student.txt").read_text().splitlines()]
    names = {re.split(r"[=<>\[ ;]", l)[0].lower() for l in lines if l}
    assert names == STUDENT_PACKAGES, f"requirements-student.txt lists {sorted(names)}"
    assert not any(l.startswith(("-e", ".", "/", "git+", "file:")) or "mlpcourse" in l for l in lines if l)


def test_the_alias_attack_has_targets():
    """The library of later sections offers stand-ins for some graded functions; list them. Each
    one is attacked three ways (wrapped, aliased, called) in the catalogue that tests/test_autograde.py
    grades: every attack must lose the points of each test cell that calls the function, no other."""
    pairs = {(n, f, g) for n in NAMES for f, _, g in alias_targets(n)}
    print("\n".join(f"{n}: {f} -> makemore.{g}" for n, f, g in sorted(pairs)))
    assert ("05_splits", "split_loss", "loss_on") in pairs
    for name in NAMES:
        attacks = alias_attacks(name)
        assert len(attacks) == 3 * len(alias_targets(name)), f"{name}: {len(attacks)} attacks"
        assert all(a.loses for a in attacks), f"{name}: an attack that no test cell catches"
