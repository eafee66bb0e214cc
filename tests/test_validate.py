"""nbgrader's Validate, as a student's Jupyter runs it (student/nbgrader_config.py).

A correct notebook of every section validates as a success (the parameters cell switches to the
grader's short runs under Validate; how long it takes is measured by the benchmark, not asserted
here); a wrong answer is named with the test that
caught it; a cell that runs too long is reported as a timeout, in the words the student reads.
"""
import os
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

from mlpcourse.course import COURSE_ROOT, LIBRARY, release_notebook, sections, source_notebook
from mlpcourse.submissions import answered, reference_answers, reference_files

NAMES = COURSE_ROOT / "data" / "names.txt"
LIMIT = 60  # seconds: the per-cell limit of student/nbgrader_config.py


def validate(folder, section, tmp_path, cell_limit=None):
    """`nbgrader validate` of folder/<section>.ipynb with the students' config (its per-cell
    limit replaced by cell_limit, if given); (seconds, output)."""
    config = tmp_path / "jupyter"
    config.mkdir(exist_ok=True)
    text = (COURSE_ROOT / "student" / "nbgrader_config.py").read_text()
    if cell_limit is not None:
        assert f"timeout = {LIMIT}  #" in text, f"student/nbgrader_config.py sets no `timeout = {LIMIT}`"
        text = text.replace(f"timeout = {LIMIT}  #", f"timeout = {cell_limit}  #", 1)
    (config / "nbgrader_config.py").write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_DB_URL",)}
    env.update({"JUPYTER_CONFIG_DIR": str(config), "MAKEMORE_NAMES": str(NAMES), "HOME": str(tmp_path)})
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", f"{section}.ipynb"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=600)
    return time.monotonic() - t0, proc.stdout + proc.stderr


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
