"""The verdict of a hidden test is taken in the grader: what the kernel sends, how it is read back,
and what a cell scores when the check fails, the probe never reports, or the kernel forges a result.
(The catalogue check grades a "forger" of every section end to end: tests/test_autograde.py.)"""
import json
import math
import tempfile
from pathlib import Path

import nbformat
import numpy
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader.api import Gradebook
from nbgrader.utils import determine_grade
from traitlets.config import Config

from mlpcourse.course import COURSE_ROOT
from mlpcourse.hidden_checks import EMIT, MIME, RunHiddenChecks, SplitHiddenChecks, Unencodable, decode

SECTION = "02_forward_pass"


def sent(value):
    """What the kernel sends for `value` (EMIT's own encoder, run here), as the grader reads it back."""
    namespace = {}
    exec(EMIT.split("__import__('IPython')")[0], namespace)
    return decode(json.loads(json.dumps(namespace["_grader_encode"](value))))


def test_values_come_back_as_they_were_sent():
    t = torch.randn(3, 4)
    got = sent({"t": t, 3: (1, [2.5, None], "x"), "bits": torch.tensor([True, False]), "n": 10 ** 30,
                "i64": torch.arange(6).view(2, 3), "scalar": torch.tensor(2.0), "empty": torch.zeros(0, 5),
                "odd": [math.inf, -math.inf], "dtype": torch.float32, "size": torch.Size([2, 3]),
                "view": t.t(), "grad": torch.ones(2, requires_grad=True)})
    assert torch.equal(got["t"], t) and got["t"].dtype == torch.float32
    assert got[3] == (1, [2.5, None], "x")
    assert got["bits"].dtype == torch.bool and got["bits"].tolist() == [True, False]
    assert got["n"] == 10 ** 30 and type(got["n"]) is int
    assert got["i64"].dtype == torch.int64 and got["i64"].shape == (2, 3) and torch.equal(got["i64"], torch.arange(6).view(2, 3))
    assert got["scalar"].shape == () and got["scalar"].item() == 2.0
    assert got["empty"].shape == (0, 5)
    assert got["odd"] == [math.inf, -math.inf]
    assert got["dtype"] is torch.float32 and got["size"] == (2, 3)
    assert torch.equal(got["view"], t.t())
    assert got["grad"].requires_grad
    assert math.isnan(sent(float("nan")))


def test_what_cannot_be_sent_arrives_as_its_type_name():
    got = sent([numpy.zeros(3), (x for x in [])])
    assert all(isinstance(v, Unencodable) for v in got)
    assert "numpy.ndarray" in repr(got[0])


CHECKED_CELL = """assert True
### BEGIN HIDDEN TESTS
_got = 41 + 1
### GRADER CHECK
assert _got == 42, f"the answer should be 42, got {_got!r}"
print("checked in the grader")
### END HIDDEN TESTS
"""


def gradebook(folder, sources):
    """A gradebook whose notebook SECTION holds {grade_id: source} as locked test cells."""
    url = f"sqlite:///{folder}/gradebook.db"
    with Gradebook(url) as gb:
        gb.add_assignment(SECTION)
        gb.add_notebook(SECTION, SECTION)
        for gid, source in sources.items():
            gb.add_grade_cell(gid, SECTION, SECTION, max_score=2, cell_type="code")
            gb.add_source_cell(gid, SECTION, SECTION, cell_type="code", locked=True, source=source, checksum="")
    return url


def graded(outputs_of, source=CHECKED_CELL, points=2, instructors=None, tmp=None):
    """Run the two preprocessors around a stand-in for the kernel: outputs_of(sent source) -> outputs.
    The gradebook holds `instructors` as the cell's source (default: the cell's own)."""
    cell = new_code_cell(source, metadata={"nbgrader": {"grade": True, "solution": False, "locked": True,
                                                        "grade_id": "t_test", "points": points}})
    nb = new_notebook(cells=[cell])
    config = Config()
    config.CourseDirectory.root = str(COURSE_ROOT)
    url = gradebook(tempfile.mkdtemp(prefix="hc-"), {"t_test": source if instructors is None else instructors})
    resources = {"nbgrader": {"assignment": SECTION, "notebook": SECTION, "db_url": url}}
    nb, resources = SplitHiddenChecks(config=config).preprocess(nb, resources)
    kernel_saw = nb.cells[0].source
    nb.cells[0].outputs = [nbformat.from_dict(o) for o in outputs_of(kernel_saw)]
    nb, resources = RunHiddenChecks(config=config).preprocess(nb, resources)
    return kernel_saw, nb.cells[0]


def probe(value):
    namespace = {}
    exec(EMIT.split("__import__('IPython')")[0], namespace)
    return {"output_type": "display_data", "metadata": {}, "data": {MIME: {"value": namespace["_grader_encode"](value)}}}


def test_the_kernel_never_sees_the_check_and_the_cell_gets_its_source_back():
    kernel_saw, cell = graded(lambda src: [probe(42)])
    assert "_got = 41 + 1" in kernel_saw and "GRADER CHECK" not in kernel_saw and "_got == 42" not in kernel_saw
    assert cell.source == CHECKED_CELL
    assert determine_grade(cell) == (2, 2)
    assert [o.get("text") for o in cell.outputs] == ["checked in the grader\n"]  # the probe itself is dropped


def test_a_wrong_value_fails_with_the_checks_message():
    _, cell = graded(lambda src: [probe(41)])
    assert determine_grade(cell) == (0, 2)
    assert cell.outputs[0].output_type == "error" and cell.outputs[0].evalue == "the answer should be 42, got 41"


@pytest.mark.parametrize("outputs, says", [
    ([], "never reached the grader"),                     # the probe did not run (or was removed)
    ([probe(42), probe(42)], "never reached the grader"),  # one result too many
    ([probe(torch.ones(2))], "could not check"),           # the check cannot read what came back
])
def test_a_probe_that_does_not_report_its_one_result_scores_zero(outputs, says):
    _, cell = graded(lambda src: outputs)
    assert determine_grade(cell) == (0, 2) and says in cell.outputs[0].evalue


def test_a_forged_partial_credit_result_counts_for_nothing():
    forged = {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": "2"}}
    _, cell = graded(lambda src: [forged, probe(41)])
    assert determine_grade(cell) == (0, 2)
    plain = new_code_cell("pass", metadata={"nbgrader": {"grade": True, "solution": False, "locked": True,
                                                         "grade_id": "u_test", "points": 2}})
    _, cell = graded(lambda src: [forged, {"output_type": "error", "ename": "AssertionError", "evalue": "no",
                                           "traceback": []}], source=plain.source)
    assert determine_grade(cell) == (0, 2), "an execute_result before an error must not count as partial credit"


def test_only_the_instructors_check_runs_in_the_grader():
    """A cell whose source is not the gradebook's (a student's own "test cell") is not split: it
    runs in the kernel as it stands, and nothing of it runs in the grader."""
    witness = Path(tempfile.mkdtemp(prefix="hc-")) / "ran-in-the-grader"
    mine = CHECKED_CELL.replace('print("checked in the grader")', f'open({str(witness)!r}, "w")')
    kernel_saw, cell = graded(lambda src: [probe(42)], source=mine, instructors=CHECKED_CELL)
    assert kernel_saw == mine and cell.source == mine
    assert not witness.exists(), "the grader ran a check that is not the instructor's"
    mine_alone = graded(lambda src: [probe(42)], source=mine, instructors=None)[1]  # the control: split, run
    assert mine_alone.source == mine and witness.exists()


PROBED_CELL = """### BEGIN HIDDEN TESTS
_x = torch.arange(4)
### PROBE
_got = _x * 2
### GRADER CHECK
assert torch.equal(_got, _x * 2), "twice _x"
### END HIDDEN TESTS
"""


def test_the_inputs_above_a_probe_line_run_in_both_places():
    kernel_saw, cell = graded(lambda src: [probe(torch.arange(4) * 2)], source=PROBED_CELL)
    assert "_x = torch.arange(4)" in kernel_saw and "_got = _x * 2" in kernel_saw and "twice" not in kernel_saw
    assert determine_grade(cell) == (2, 2)
    _, cell = graded(lambda src: [probe(torch.arange(4))], source=PROBED_CELL)
    assert determine_grade(cell) == (0, 2) and cell.outputs[0].evalue == "twice _x"


def _hidden_parts(section, grade_id):
    """(inputs, probe, check) of the hidden block of one test cell of an instructor notebook."""
    from mlpcourse.course import HIDDEN_TESTS, nbgrader_meta

    nb = nbformat.read(COURSE_ROOT / "source" / section / f"{section}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)
    body = HIDDEN_TESTS.search(cell.source).group(0)
    body = "\n".join(line for line in body.splitlines() if "HIDDEN TESTS" not in line)
    inputs, rest = body.split("### PROBE")
    probe, check = rest.split("### GRADER CHECK")
    return inputs, probe, check


@pytest.mark.parametrize("section, grade_id, answer, refused", [
    ("05_splits", "whole_split_loss_test",
     "def split_loss(parameters, X, Y, chunk=10_000):\n"
     "    with torch.no_grad():\n"
     "        return makemore.loss_on(parameters, X, Y).item()\n",
     "loss_on"),
    ("04_learning_rate", "lr_sweep_test",
     "def lr_sweep(parameters, X, Y, lre, g, batch_size):\n"
     "    exps = lre.tolist()\n"
     "    lossi = makemore.train_mlp(parameters, X, Y, len(exps), lambda i: 10 ** exps[i], g, batch_size, log_every=0)\n"
     "    return [(e, 10 ** l) for e, l in zip(exps, lossi)]\n",
     "train_mlp"),
    ("02_forward_pass", "stable_softmax_test",
     "def stable_softmax(logits):\n"
     "    return torch.softmax(logits, 1)\n",
     "softmax"),
])
def test_an_answer_handing_its_work_to_the_course_gets_the_tests_own_message(section, grade_id, answer, refused,
                                                                            monkeypatch):
    """The probe runs (the refused call leaves its result unset, not undefined) and the check's
    own assert explains the 0, not a NameError from the probe (issue 28, item 10)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("makemore", COURSE_ROOT / "source" / section / "makemore.py")
    makemore = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "makemore", makemore)
    spec.loader.exec_module(makemore)
    inputs, probe, check = _hidden_parts(section, grade_id)
    kernel = {"torch": torch, "makemore": makemore}
    exec(answer, kernel)
    exec(inputs + probe, kernel)  # a NameError here was the bug
    grader = {"torch": torch, "makemore": makemore, "_got": kernel["_got"]}
    exec(inputs, grader)
    with pytest.raises(AssertionError) as failed:
        exec(check, grader)
    assert "hands the work" in str(failed.value) and refused in str(failed.value), str(failed.value)


def test_the_graders_library_is_loaded_once_per_text_and_its_data_sets_are_built_once(tmp_path):
    """Every scratch course of a worker holds the section's makemore.py under another path: the
    grader loads it once, and its build_dataset gives each call a copy of what it built first,
    equal to what the library's own function builds."""
    from mlpcourse.hidden_checks import grader_library

    text = (COURSE_ROOT / "source" / "04_learning_rate" / "makemore.py").read_bytes()
    paths = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        paths.append(tmp_path / name / "makemore.py")
        paths[-1].write_bytes(text)
    first, second = grader_library(paths[0]), grader_library(paths[1])
    assert first is second
    own = first.build_dataset.__wrapped__  # the library's function itself
    words = ["emma", "olivia", "ava", "isabella"]
    stoi = first.build_vocab(words)[0]
    built = first.build_dataset(words, 3, stoi)
    again = first.build_dataset(list(words), 3, dict(stoi))
    for got, want in zip(built, own(words, 3, stoi)):
        assert torch.equal(got, want) and got.dtype == want.dtype
    built[0].zero_()  # a copy: what one caller does to it never reaches the next
    assert torch.equal(again[0], own(words, 3, stoi)[0])
    assert torch.equal(first.build_dataset(words, 3, stoi)[0], own(words, 3, stoi)[0])
    assert first.build_dataset(words, 2, stoi)[0].shape[1] == 2  # another block size, another data set
    with pytest.raises(KeyError):  # what the library's function raises, the caller gets
        first.build_dataset(["ab", "zz?"], 3, {".": 0, "a": 1, "b": 2, "z": 3})
    passed = first.build_dataset(iter(words), 3, stoi)  # arguments it cannot key on go through as they are
    assert torch.equal(passed[1], own(words, 3, stoi)[1])
    paths[1].write_bytes(text + b"\nCHANGED = True\n")
    assert grader_library(paths[1]) is not first and grader_library(paths[1]).CHANGED


def test_a_checks_reference_run_is_remembered_per_key_and_each_call_gets_a_copy(tmp_path):
    """makemore.checks.remember: compute() once per key in a process (the grader keeps its library
    for every notebook of a section), then a copy of what it returned; another key runs again;
    the libraries of two sections share the data sets their same build_dataset built."""
    from mlpcourse.hidden_checks import grader_library

    library = grader_library(COURSE_ROOT / "source" / "04_learning_rate" / "makemore.py")
    calls = []

    def run(steps):
        calls.append(steps)
        return [float(steps)] * 3, {"end": steps / 2}

    key = ("test", tmp_path.name)
    first = library.checks.remember((*key, 10), lambda: run(10))
    first[0].append(99.0)  # a copy: what one check does to it never reaches the next
    assert library.checks.remember((*key, 10), lambda: run(10)) == ([10.0] * 3, {"end": 5.0})
    assert library.checks.remember((*key, 20), lambda: run(20)) == ([20.0] * 3, {"end": 10.0})
    assert calls == [10, 20]
    other = grader_library(COURSE_ROOT / "source" / "06_capacity" / "makemore.py")
    words = ["emma", "olivia", "ava", tmp_path.name.replace("_", "")]
    stoi = {c: i for i, c in enumerate(sorted(set("".join(words)) | {"."}))}
    from mlpcourse.hidden_checks import _BUILT

    library.build_dataset(words, 3, stoi)
    shared = [cache for cache in _BUILT.values() if (tuple(words), 3, tuple(sorted(stoi.items()))) in cache]
    assert len(shared) == 1  # built once, where every library with this build_dataset looks
    size = len(shared[0])
    X, _Y = other.build_dataset(words, 3, stoi)
    assert len(shared[0]) == size and torch.equal(X, library.build_dataset.__wrapped__(words, 3, stoi)[0])
