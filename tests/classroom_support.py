"""Builds a small course and a class of honest, broken and hostile submissions for the tests.

Every section is its own nbgrader assignment: source/<section>/{<section>.ipynb, makemore.py},
submitted/<student>/<section>/<section>.ipynb."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from mlpcourse.answers import catalogue
from mlpcourse.assignments import generate
from mlpcourse.assignments import copy_section
from mlpcourse.course import (COURSE_ROOT as ROOT, LIBRARY, config_files, graded_cells, release_notebook,
                              source_notebook, write_config_files)
from mlpcourse.submissions import answered, nbgrader_meta, reference_answers, write_submission

NOTEBOOKS = ["01_dataset", "02_forward_pass"]
# the automatic points of each notebook, read from the instructor's version (never typed in twice)
FULL = {n: sum(graded_cells(nbformat.read(source_notebook(n), as_version=4)).values()) for n in NOTEBOOKS}

LIMITS = """
c.SafeExecute.timeout = 10
c.SafeExecute.notebook_timeout = 120
c.SandboxedKernelManager.memory_limit_mb = 2048
"""

# For tests whose verdicts are not about time: limits no busy machine reaches (the 4 s nbclient waits
# for a cell's output by default failed an import cell on a machine with a load of 20).
GENEROUS = """
c.SafeExecute.timeout = 600
c.SafeExecute.notebook_timeout = 3600
c.SafeExecute.iopub_timeout = 120
"""

PATCH_HELPERS = """
import math, builtins
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
torch.Tensor.__lt__ = lambda self, other: torch.ones((), dtype=torch.bool)
torch.Tensor.all = lambda self, *a, **k: torch.ones((), dtype=torch.bool)
math.isclose = lambda *a, **k: True
builtins.abs = lambda x: 0
makemore.checks.close = lambda *a, **k: True   # the course's own comparison helpers too
makemore.checks.same = lambda *a, **k: True
makemore.checks.finite = lambda *a, **k: True
makemore.checks.tampered = lambda: []
makemore.checks.restore = lambda: []
makemore.close = lambda *a, **k: True          # and their module-level names
makemore.same = lambda *a, **k: True
makemore.restore = lambda: []
"""

# A makemore.py of a student's own, handed back with the notebook: it breaks torch.allclose and the
# comparisons before the originals are captured, so if the grader imported it instead of the
# section's copy, restoring them would not help and every test of the section would pass.
LIBRARY_CHEAT = """
import torch as _torch
_torch.allclose = lambda *a, **k: True
_torch.Tensor.__lt__ = lambda self, other: _torch.ones((), dtype=_torch.bool)
"""
LIBRARY_CHEAT_END = """
def close(*a, **k):
    return True


def same(*a, **k):
    return True


checks.close, checks.same = close, same
"""


def make_course(folder):
    """A course directory with sections 01 and 02 (one assignment each), their release and
    gradebook, and the data."""
    folder = Path(folder)
    folder.mkdir(parents=True)
    (folder / "data").mkdir()
    files = config_files(ROOT)
    files["nbgrader_config.py"] += LIMITS.encode()
    write_config_files(folder, files)
    for name in NOTEBOOKS:
        copy_section(name, folder, ROOT)
    shutil.copy(ROOT / "data" / "names.txt", folder / "data" / "names.txt")
    generate(folder, NOTEBOOKS)
    return folder


def _nbs(course):
    src = {n: nbformat.read(source_notebook(n, course), as_version=4) for n in NOTEBOOKS}
    rel = {n: nbformat.read(release_notebook(n, course), as_version=4) for n in NOTEBOOKS}
    return src, rel


def released_library(course, name):
    """The makemore.py students receive with a section (release/<section>/makemore.py)."""
    return (Path(course) / "release" / name / LIBRARY).read_bytes()


def _mistake(name, why_start):
    for m in catalogue()[name][0]:
        if m.why.startswith(why_start):
            return m
    raise KeyError(why_start)


def _cell(nb, grade_id):
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def build_class(course):
    """Write the class into course/submitted; return {student: {section: expected points}}."""
    src, rel = _nbs(course)

    def ref(name, **edit):
        answers = reference_answers(src[name])
        for grade_id, change in edit.items():
            answers[grade_id] = change(answers[grade_id])
        return answered(rel[name], answers)

    def wrong(name, why):
        m = _mistake(name, why)
        return lambda s: m.apply(s)

    full = dict(FULL)
    expected = {}

    def add(student, notebooks, scores, files=None):
        folders = write_submission(course, student, notebooks, files)
        assert [f.name for f in folders] == list(notebooks), folders
        expected[student] = {**full, **scores}

    honest = {n: ref(n) for n in NOTEBOOKS}
    add("aaa_honest", honest, {})
    add("zzz_honest", honest, {})
    # a kernel that dies in the middle of 02: the points before it stay, 01 is untouched
    add("dies", {**honest, "02_forward_pass": ref("02_forward_pass", flatten=lambda s: "import os\nos._exit(1)\n" + s)},
        {"02_forward_pass": 5.0})
    # SystemExit in an answer cell: only that answer is lost
    add("exits", {**honest, "01_dataset": ref("01_dataset", build_dataset=lambda s: "import sys\nsys.exit(3)\n" + s)},
        {"01_dataset": 6.0})
    # a runaway allocation (3.2 GB over a 2 GB cap) fails only its own cell
    add("hog", {**honest, "02_forward_pass": ref("02_forward_pass", embed=lambda s: "_hog = torch.ones(800_000_000)\n" + s)},
        {"02_forward_pass": 14.0})
    # an endless loop is interrupted by the cell time limit
    add("loops", {**honest, "01_dataset": ref("01_dataset", n_examples=lambda s: "while True:\n    pass\n" + s)},
        {"01_dataset": 6.0})
    # not valid JSON; a missing notebook; unexpected extra files (one in each section's folder)
    write_submission(course, "broken_json", {"02_forward_pass": honest["02_forward_pass"]})
    broken = course / "submitted" / "broken_json" / "01_dataset" / "01_dataset.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [')
    expected["broken_json"] = {**full, "01_dataset": 0.0}
    add("missing", {"01_dataset": honest["01_dataset"]}, {"02_forward_pass": 0.0})
    add("extras", honest, {}, files={"01_dataset": {"notes.txt": b"my notes"},
                                     "02_forward_pass": {"helper.py": b"import os\n"}})
    # edited, deleted and retyped test cells, with wrong answers behind them
    tampered = ref("01_dataset", vocab=wrong("01_dataset", "letters counted"),
                   build_dataset=wrong("01_dataset", "off-by-one"), n_examples=wrong("01_dataset", "forgot"))
    _cell(tampered, "vocab_test").source = "pass"
    tampered.cells.remove(_cell(tampered, "build_dataset_test"))
    _cell(tampered, "n_examples_test").cell_type = "markdown"
    for key in ("outputs", "execution_count"):
        _cell(tampered, "n_examples_test").pop(key, None)
    add("tampered", {**honest, "01_dataset": tampered}, {"01_dataset": 3.0})  # Parts D and E untouched
    # a duplicated test cell does not change a grade, honest or not
    dup = ref("01_dataset")
    copy = nbformat.from_dict(dict(_cell(dup, "vocab_test")))
    copy["id"] = "copied-cell"
    dup.cells.insert(dup.cells.index(_cell(dup, "vocab_test")) + 1, copy)
    add("duplicated", {**honest, "01_dataset": dup}, {})
    dup_cheat = ref("01_dataset", vocab=wrong("01_dataset", "letters counted"))
    fake = nbformat.from_dict(dict(_cell(dup_cheat, "vocab_test")))
    fake["id"] = "fake-cell"
    fake["source"] = "pass"
    dup_cheat.cells.insert(dup_cheat.cells.index(_cell(dup_cheat, "vocab_test")) + 1, fake)
    add("duplicate_cheat", {**honest, "01_dataset": dup_cheat}, {"01_dataset": 7.0})
    # redefined comparison helpers: in an answer cell, and again inside an answer's function
    cheat = ref("02_forward_pass",
                softmax=lambda s: wrong("02_forward_pass", "softmax over the wrong dim")(s) + "\n" + PATCH_HELPERS,
                nll=lambda s: ("def nll(prob, Y):\n    import builtins, math\n"
                               "    torch.Tensor.__lt__ = lambda self, other: torch.ones((), dtype=torch.bool)\n"
                               "    builtins.abs = lambda x: 0\n    math.isclose = lambda *a, **k: True\n"
                               "    makemore.checks.close = lambda *a, **k: True\n"
                               "    return -prob[torch.arange(Y.shape[0]), Y].log().sum()"))
    add("helper_cheat", {**honest, "02_forward_pass": cheat}, {"02_forward_pass": 12.0})
    # tries to overwrite the course data, source/ and release/ from its kernel: those of the
    # repository (where the mlpcourse package is) and those of the course being graded. The
    # sandbox shows it neither; its own folder is the one place it can write.
    vandal = ref("01_dataset", n_examples=lambda s: s + f"""
import pathlib
for _root in [pathlib.Path({str(ROOT)!r}), pathlib.Path({str(course)!r})]:
    _seen = [_t for _t in [_root / 'data' / 'names.txt', *pathlib.Path(_root, 'source').rglob('*'),
                           *pathlib.Path(_root, 'release').rglob('*')] if _t.is_file()]
    print('seen', len(_seen))
    for _target in _seen:
        try:
            _target.write_text('vandalised')
        except Exception as _e:
            print(type(_e).__name__)
pathlib.Path('mine.txt').write_text('mine')
import sys
sys.stdout.write('own folder ')
sys.stdout.flush()  # the kernel sends it now: the line reaches the grader in two pieces
print('writable')
""")
    add("vandal", {**honest, "01_dataset": vandal}, {})
    # the kernel runs in a copy of the notebook's folder, where files handed in with it are, and
    # imports the section's own makemore.py from there (the grader's copy); the notebook is not
    # there (nbgrader's copy of it holds the hidden tests)
    here = ref("01_dataset", n_examples=lambda s: s + "\nimport pathlib\nassert not list(pathlib.Path().glob('*.ipynb'))"
                                                      "\nassert pathlib.Path(makemore.__file__).resolve().parent"
                                                      " == pathlib.Path.cwd().resolve()")
    add("reads_cwd", {**honest, "01_dataset": here}, {})
    # handed back as nbgrader submit collects it: each section's folder as released, makemore.py included
    add("resubmits_library", honest, {}, files={n: {LIBRARY: released_library(course, n)} for n in NOTEBOOKS})
    # a makemore.py of one's own whose comparisons always pass: the section's copy replaces it
    lib = released_library(course, "02_forward_pass").decode()
    cheat_lib = (LIBRARY_CHEAT + lib + LIBRARY_CHEAT_END).encode()
    add("library_cheat", {**honest, "02_forward_pass": ref("02_forward_pass",
                                                            softmax=wrong("02_forward_pass", "softmax over the wrong dim"))},
        {"02_forward_pass": 14.0},
        files={"01_dataset": {LIBRARY: released_library(course, "01_dataset")}, "02_forward_pass": {LIBRARY: cheat_lib}})
    return expected


# the students who hand back the makemore.py they received (a file of the assignment, not an extra)
HAND_BACK_LIBRARY = ("resubmits_library", "library_cheat")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, seconds=60, every=0.5):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every)
    return False


UNPRIVILEGED = ["unshare", "--user", "--map-user=65534", "--map-group=65534", "--"]


def as_user(user, cmd):
    """cmd as root, or as uid 65534 without any capability (a user namespace: the course machines'
    Python lives under /root, which the real nobody cannot open)."""
    return cmd if user == "root" else [*UNPRIVILEGED, *cmd]


def skip_unless_root_for(user):
    if os.geteuid() != 0 and user == "root":
        import pytest

        pytest.skip("the grader is not root here")


def nbgrader(course, *args, timeout=3600, user="root"):
    """Run a stock nbgrader command in a course directory (as `user`, see as_user); raise with its
    log if it fails."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("NBGRADER_DB_URL", None)
    proc = subprocess.run(as_user(user, [sys.executable, "-m", "nbgrader", *args]), cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def png_figure(width=1, height=1):
    """A small matplotlib figure as base64 PNG: the kind of output a student's cell leaves."""
    import base64
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()
