"""nbgrader's Validate, as a student's Jupyter runs it (student/nbgrader_config.py and
student/nbgrader_parts.py).

A correct notebook of every section validates as a success (the parameters cell switches to the
grader's short runs under Validate; how long it takes is measured by the benchmark, not asserted
here); a wrong answer is named with its Part and the test that caught it; an untouched notebook
names each unanswered Part, lists an answer cell first and no cascade of tracebacks after it;
offline, the DataError comes first, in full, and the cells after it point at it; a cell that
runs too long is reported as a timeout, in the words the student reads.
"""
import os
import re
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from mlpcourse.course import (COURSE_ROOT, LIBRARY, STUDENT_FILES, load_config, nbgrader_meta, release_notebook,
                              sections, source_notebook)
from mlpcourse.parts import label, parts_of_cells
from mlpcourse.submissions import answered, reference_answers, reference_files

NAMES = COURSE_ROOT / "data" / "names.txt"
LIMIT = 60  # seconds: the per-cell limit of student/nbgrader_config.py


def validate(folder, section, tmp_path, cell_limit=None, offline=False):
    """`nbgrader validate` of folder/<section>.ipynb with the students' config files (its per-cell
    limit replaced by cell_limit, if given); offline: no names.txt anywhere and no network for
    makemore's download. (seconds, output)."""
    config = tmp_path / "jupyter"
    config.mkdir(exist_ok=True)
    for name in STUDENT_FILES:
        shutil.copy(COURSE_ROOT / "student" / name, config / name)
    text = (config / "nbgrader_config.py").read_text()
    if cell_limit is not None:
        assert f"timeout = {LIMIT}  #" in text, f"student/nbgrader_config.py sets no `timeout = {LIMIT}`"
        text = text.replace(f"timeout = {LIMIT}  #", f"timeout = {cell_limit}  #", 1)
    (config / "nbgrader_config.py").write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_DB_URL", "MAKEMORE_NAMES", "XDG_CACHE_HOME")}
    env.update({"JUPYTER_CONFIG_DIR": str(config), "HOME": str(tmp_path)})
    if offline:  # makemore's download goes through a proxy that refuses every connection
        env.update({"https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"})
    else:
        env["MAKEMORE_NAMES"] = str(NAMES)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", f"{section}.ipynb"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=600)
    return time.monotonic() - t0, proc.stderr + proc.stdout  # the report last


def student_folder(tmp_path, section, answers, files=None):
    """The release folder of a section with these answers typed in (and files handed in)."""
    folder = tmp_path / section
    folder.mkdir()
    nb = answered(nbformat.read(release_notebook(section), as_version=4), answers)
    nbformat.write(nb, folder / f"{section}.ipynb")
    shutil.copy(COURSE_ROOT / "release" / section / LIBRARY, folder)
    for name, content in (files or {}).items():
        (folder / name).write_bytes(content)
    return folder


@pytest.mark.parametrize("section", sections())
def test_a_correct_notebook_validates(section, tmp_path):
    answers = reference_answers(nbformat.read(source_notebook(section), as_version=4))
    folder = student_folder(tmp_path, section, answers, reference_files([section]).get(section))
    seconds, out = validate(folder, section, tmp_path)
    assert "Success! Your notebook passes all the tests." in out, f"Validate of a correct {section}:\n{out[-3000:]}"
    print(f"\nValidate {section}: {seconds:.1f} s")


def test_a_wrong_answer_is_named_with_its_test(tmp_path):
    section = "01_dataset"
    answers = reference_answers(nbformat.read(source_notebook(section), as_version=4))
    answers["n_examples"] = "def count_examples(words):\n    return len(words)  # one example per name: wrong"
    seconds, out = validate(student_folder(tmp_path, section, answers), section, tmp_path)
    assert "VALIDATION FAILED" in out, f"Validate passed a wrong count_examples:\n{out[-2000:]}"
    assert "count_examples(['emma']) == 5" in out and "AssertionError" in out, (
        f"Validate does not show the test that failed and its message:\n{out[-3000:]}")
    nb = nbformat.read(release_notebook(section), as_version=4)
    part = next(p for c, p in zip(nb.cells, parts_of_cells(nb.cells)) if nbgrader_meta(c).get("grade_id") == "n_examples_test")
    assert f"{label(part)}: this test failed." in out, f"Validate does not name the Part of the failed test:\n{out[-3000:]}"
    assert "not answered yet" not in out, f"an answered notebook is said to have an unanswered Part:\n{out[-3000:]}"


def test_a_cell_that_runs_too_long_is_reported_as_a_timeout(tmp_path):
    section = "02_forward_pass"
    answers = reference_answers(nbformat.read(source_notebook(section), as_version=4))
    first = next(iter(answers))
    # far over any limit: the test finishes only because the cell was stopped (validate() gives up at 600 s)
    answers[first] = "import time\ntime.sleep(36000)  # a loop that forgets the parameters cell\n" + answers[first]
    # The course's limit is 60 s; the same config with 20 s shows the message with a shorter wait.
    # Not less: the limit holds for every cell, and importing torch and matplotlib took over 5 s
    # on a CI machine busy with the other tests (a 5 s limit stopped the import cell instead).
    seconds, out = validate(student_folder(tmp_path, section, answers), section, tmp_path, cell_limit=20)
    assert "CellTimeoutError: this cell ran for more than 20 seconds and was stopped." in out, (
        f"Validate does not say that a cell timed out:\n{out[-3000:]}")
    assert "time.sleep" in out, f"Validate does not show which cell timed out:\n{out[-3000:]}"


def failures(out):
    """[(source, error)] of the cells Validate lists as failed, in its order."""
    found = []
    for block in out.split("=" * 90)[1:]:
        head, _, error = block.partition("\nThe error was:\n")
        assert "The following cell failed:" in head, f"not a failure:\n{block[:500]}"
        source = head.split("The following cell failed:", 1)[1]
        found.append(("\n".join(l[4:] for l in source.strip("\n").splitlines()), error.split("\n\n\n")[0].strip()))
    return found


def test_an_untouched_notebook_names_its_parts_and_lists_an_answer_first(tmp_path):
    section = "03_training"
    release = nbformat.read(release_notebook(section), as_version=4)
    folder = student_folder(tmp_path, section, {})
    _, out = validate(folder, section, tmp_path)
    assert "VALIDATION FAILED" in out and "Success" not in out, f"Validate of an untouched {section}:\n{out[-3000:]}"
    listed = failures(out)
    parts = parts_of_cells(release.cells)
    answers = {}  # the source Validate shows (its lines cut at 90 characters) -> the answer's Part letter
    for cell, part in zip(release.cells, parts):
        if nbgrader_meta(cell).get("solution"):
            shown = "\n".join(l if len(l) <= 83 else l[:83] + "..." for l in cell.source.strip().splitlines())
            answers[shown] = part[0]
    assert listed and listed[0][0] in answers, f"the first failure listed is not an answer cell:\n{out[:3000]}"
    named = [answers[source] for source, _ in listed if source in answers]
    assert sorted(named) == sorted(answers.values()), f"unanswered answers not listed: {sorted(answers.values())} vs {named}"
    for source, error in listed:
        if source in answers:  # an answer: its Part, and for code its heading and points
            letter = answers[source]
            assert f"Part {letter}" in source + error, f"an unanswered answer does not name Part {letter}:\n{source}\n{error}"
            continue
        # any other failure is of an unanswered Part listed above it, in two lines and no traceback
        letters = set(re.findall(r"\bPart ([A-Z])\b", error))
        earlier = named[:sum(1 for s, _ in listed[:listed.index((source, error))] if s in answers)]
        assert letters and letters <= set(earlier), f"a failure names no Part listed above it:\n{source}\n{error}"
        assert len(error.splitlines()) == 2, f"a failure that follows from an unanswered Part is not short:\n{error}"
    assert "Traceback" not in out and "NameError" not in out.replace("(NameError: name", ""), (
        f"an untouched notebook still prints tracebacks:\n{out[:4000]}")
    call = next(e for s, e in listed if "train_step(parameters, X, Y, lr)" in s and "def train_step" not in s)
    assert "answer Part B first" in call, f"the call of train_step does not send the student to Part B:\n{call}"


def test_offline_the_data_error_comes_first_and_in_full(tmp_path):
    section = "03_training"
    _, out = validate(student_folder(tmp_path, section, {}), section, tmp_path, offline=True)
    listed = failures(out)
    assert listed and "DataError" in listed[0][1], f"the first failure is not the DataError:\n{out[:3000]}"
    assert out.count("Traceback (most recent call last)") == 1, f"more than one traceback offline:\n{out[:5000]}"
    message = " ".join(line.strip() for line in listed[0][1].split("The message in full:")[-1].splitlines())
    assert "could not be downloaded" in message and "set $MAKEMORE_NAMES to its path, then run the cell again" in message, (
        f"the DataError's message is not shown in full:\n{listed[0][1]}")
    data_cell = listed[0][0].splitlines()[0]
    for source, error in listed[1:]:
        if "(NameError" in error and "Part" not in error:
            assert data_cell in error and "fix that one first" in error, f"a NameError does not point at the data cell:\n{error}"


def test_the_hooks_are_for_validate_only():
    """The student's config sets nbclient's hooks on Validate's Execute; autograde's Execute
    (SafeExecute, nbgrader's Execute) never sees them."""
    config = load_config()
    assert callable(config.Validator.Execute.get("on_cell_error")), "Validate's Execute has no on_cell_error hook"
    for name in ("Execute", "SafeExecute", "ExecutePreprocessor", "NotebookClient"):
        hooks = [k for k in config.get(name, {}) if k.startswith("on_")]
        assert not hooks, f"c.{name} sets {hooks}: autograde would run them"


def test_what_a_student_installs_needs_no_mlpcourse():
    """A student's Jupyter has nbgrader but not the course's package: the files student-setup
    copies import only the standard library and what requirements-student.txt brings."""
    import ast

    allowed = {"nbgrader", "nbformat", "traitlets"}
    for name in STUDENT_FILES:
        tree = ast.parse((COURSE_ROOT / "student" / name).read_text())
        for node in ast.walk(tree):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for module in modules:
                top = module.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, f"student/{name} imports {module}"
