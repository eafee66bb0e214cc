"""The data sets the grader builds once and hands to each grading kernel (mlpcourse.ready_made,
runtime._ready_made): what each section gets, that a kernel's build_dataset returns the tensors it
would have built, and that both graders hand them over."""
import importlib.util
import json
import os
import subprocess
import sys
import uuid

import nbformat
import pytest
import torch

from mlpcourse.assignments import scratch_course
from mlpcourse.course import COURSE_ROOT, LIBRARY, nbgrader_meta, release_notebook, source_notebook
from mlpcourse.ready_made import BLOCK_SIZE, SPLIT_SEED, write_ready_made
from mlpcourse.runtime import READY_MADE_ENV, dataset_key
from mlpcourse.submissions import answered, reference_answers, write_submission

NAMES = COURSE_ROOT / "data" / "names.txt"


def _library(section, monkeypatch, folder=None):
    """The section's makemore.py imported as a grading kernel imports it (READY_MADE_ENV: folder)."""
    if folder is None:
        monkeypatch.delenv(READY_MADE_ENV, raising=False)
    else:
        monkeypatch.setenv(READY_MADE_ENV, str(folder))
    name = f"makemore_{section}_{uuid.uuid4().hex[:6]}"
    spec = importlib.util.spec_from_file_location(name, COURSE_ROOT / "source" / section / LIBRARY)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("section, count", [("01_dataset", 0), ("02_forward_pass", 1), ("05_splits", 1),
                                            ("06_capacity", 4), ("08_initialization", 4)])
def test_each_section_gets_only_what_its_own_library_builds(section, count, tmp_path):
    """None in 01 (build_dataset is its answer), the names in file order from 02 on, and the three
    parts of the split from 06 on (split_words is 05's answer)."""
    source = COURSE_ROOT / "source" / section
    folder = write_ready_made(tmp_path / "ready", source, source, NAMES)
    assert (len(os.listdir(folder)) if folder else 0) == count


def test_a_kernel_library_that_is_not_the_instructors_gets_none(tmp_path):
    source = COURSE_ROOT / "source" / "06_capacity"
    kernel = tmp_path / "work"
    kernel.mkdir()
    (kernel / LIBRARY).write_bytes((source / LIBRARY).read_bytes() + b"\n# changed\n")
    assert write_ready_made(tmp_path / "ready", source, kernel, NAMES) is None
    (kernel / LIBRARY).unlink()
    (kernel / LIBRARY).symlink_to(source / LIBRARY)  # the same bytes, through a link
    assert write_ready_made(tmp_path / "ready", source, kernel, NAMES) is None
    assert write_ready_made(tmp_path / "ready", source, source, tmp_path / "no-names.txt") is None


def test_build_dataset_returns_what_it_would_have_built(tmp_path, monkeypatch):
    source = COURSE_ROOT / "source" / "08_initialization"
    folder = write_ready_made(tmp_path / "ready", source, source, NAMES)
    plain = _library("08_initialization", monkeypatch)
    assert not hasattr(plain.build_dataset, "__wrapped__")  # a student's own run: the course's function itself
    graded = _library("08_initialization", monkeypatch, folder)
    build = graded.build_dataset
    words = graded.load_words(NAMES)
    stoi, _ = graded.build_vocab(words)
    train, dev, test = graded.split_words(words, SPLIT_SEED)
    ready = {f.removesuffix(".pt") for f in os.listdir(folder)}
    calls = [(words, BLOCK_SIZE, stoi), (train, BLOCK_SIZE, stoi), (dev, BLOCK_SIZE, stoi), (test, BLOCK_SIZE, stoi),
             (words, BLOCK_SIZE + 1, stoi), (words[:5], BLOCK_SIZE, stoi), (tuple(words[:5]), BLOCK_SIZE, stoi)]
    assert [dataset_key(*c) in ready for c in calls] == [True] * 4 + [False] * 3
    for words_, block_size, stoi_ in calls:
        X, Y = build(words_, block_size, stoi_)
        X0, Y0 = plain.build_dataset(words_, block_size, stoi_)
        assert X.dtype == X0.dtype and Y.dtype == Y0.dtype and torch.equal(X, X0) and torch.equal(Y, Y0)
        X[0, 0] = 99  # every call gets tensors of its own
    assert torch.equal(build(words, BLOCK_SIZE, stoi)[0], plain.build_dataset(words, BLOCK_SIZE, stoi)[0])


PROBE = """
import json as _json, os as _os, makemore as _mm
_f = _os.environ.get({env!r})
print("READY", _json.dumps({{"files": len(_os.listdir(_f)) if _f else None,
                             "wrapped": hasattr(getattr(_mm, "build_dataset", None), "__wrapped__")}}))
"""
SECTIONS = {"01_dataset": (None, False), "05_splits": (1, True), "06_capacity": (4, True)}


@pytest.fixture(scope="module")
def probed_course(tmp_path_factory):
    course = scratch_course(list(SECTIONS), tmp_path_factory.mktemp("ready") / "course")
    nbs = {}
    for section in SECTIONS:
        src = nbformat.read(source_notebook(section, course), as_version=4)
        rel = nbformat.read(release_notebook(section, course), as_version=4)
        answers = reference_answers(src)
        first = next(nbgrader_meta(c)["grade_id"] for c in src.cells
                     if c.cell_type == "code" and nbgrader_meta(c).get("solution"))
        answers[first] += "\n" + PROBE.format(env=READY_MADE_ENV)
        nbs[section] = answered(rel, answers)
    write_submission(course, "probe", nbs)
    return course


def _probe(course, section):
    nb = nbformat.read(course / "autograded" / "probe" / section / f"{section}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if nbgrader_meta(c).get("solution")
                   for o in c.get("outputs", []) if o.get("name") == "stdout")
    line = next(x for x in text.splitlines() if x.startswith("READY "))
    return json.loads(line[len("READY "):])


@pytest.mark.parametrize("grader", ["class", "stock"])
def test_both_graders_hand_each_kernel_its_sections_data_sets(grader, probed_course):
    from nbgrader.api import Gradebook

    course = probed_course
    if grader == "stock":
        for section in SECTIONS:
            out = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", section, "--force"],
                                 cwd=course, capture_output=True, text=True)
            assert out.returncode == 0, out.stderr[-3000:]
    else:
        from mlpcourse.classroom import grade_class

        grade_class(str(course), students=["probe"], workers=1, progress=False, feedback=False)
    for section, (files, wrapped) in SECTIONS.items():
        assert _probe(course, section) == {"files": files, "wrapped": wrapped}, section
        with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
            nb = gb.find_submission_notebook(section, section, "probe")
            assert nb.code_score == nb.max_code_score, f"{section}: {nb.code_score} of {nb.max_code_score}"
