"""Grading a class: isolated, parallel, tamper-proof, nothing lost (python -m mlpcourse grade).

Every section is its own nbgrader assignment (submitted/<student>/<section>/<section>.ipynb).
One batch holds honest submissions and one submission per kind of trouble; see
classroom_support.build_class for what each does and the points it must get in each section.
"""
import glob
import html
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from classroom_support import (FULL, HAND_BACK_LIBRARY, NOTEBOOKS, ROOT, build_class, free_port, make_course, nbgrader,
                                run, wait_for)
from mlpcourse.class_reports import scores_of
from mlpcourse.classroom import course_fingerprint, grade_class

SUBSET = ["aaa_honest", "dies", "missing", "helper_cheat"]


def _repo_files():
    """What the vandal submission aims at in this repository: the data, source/ and release/."""
    fingerprint = course_fingerprint(ROOT)
    return {k: v for k, v in fingerprint.items() if k.startswith(("data/", "source/", "release/"))}


def _repo_changes(before):
    """The repository files that differ from `before` (taken just before a grading run), each
    marked when it holds what the vandal writes: an edit made to the working tree by hand while
    the class is graded shows up here too, but without the mark."""
    after = _repo_files()
    changed = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            path = ROOT / name
            vandalised = path.is_file() and path.read_bytes() == b"vandalised"
            changed.append(f"{name} ({'vandalised' if vandalised else 'gone' if name not in after else 'changed'})")
    return changed


def _grade_watching_repo(*args, **kwargs):
    """grade_class, and the repository files that changed while it ran."""
    before = _repo_files()
    report = grade_class(*args, **kwargs)
    return report, _repo_changes(before)


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of its own (initdb in a temporary folder), for the class gradebook."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not binaries:
        pytest.fail("the PostgreSQL server binaries are not installed")
    bin_dir = Path(binaries[-1])
    data = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp"))
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    run([*as_user, str(bin_dir / "initdb"), "-D", str(data / "db"), "-U", "grader", "--auth=trust"])
    run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-w", "-l", str(data / "log"), "-o",
         f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"])
    try:
        run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "grader", "gradebook"])
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory):
    """A Dask scheduler and two worker processes, started with Dask's own command line."""
    dask = str(Path(sys.executable).parent / "dask")
    scheduler_file = tmp_path_factory.mktemp("dask") / "scheduler.json"
    # --no-dashboard alone still opens an HTTP server on port 8787 (on every interface)
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        assert wait_for(scheduler_file.exists, 60), "the scheduler did not start"
        address = json.loads(scheduler_file.read_text())["address"]
        for i in range(2):
            procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                                           "--name", f"worker-{i}", "--host", "127.0.0.1"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from dask.distributed import Client

        with Client(address) as client:
            assert wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 90), "workers did not join"
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, postgres, dask_scheduler):
    """The class graded twice: first on a local cluster into the course's SQLite gradebook, with
    feedback; then on a Dask scheduler with two worker processes into a PostgreSQL gradebook."""
    course = make_course(tmp_path_factory.mktemp("class") / "course")
    expected = build_class(course)
    first, repo_first = _grade_watching_repo(course, workers=2, progress=False)
    after_first = tmp_path_factory.mktemp("first-run") / "course"  # its autograded notebooks and feedback
    shutil.copytree(course, after_first)
    second, repo_second = _grade_watching_repo(course, scheduler=dask_scheduler, db_url=postgres,
                                               progress=False, feedback=False)
    return {"course": course, "expected": expected, "first": first, "second": second, "postgres": postgres,
            "after_first": after_first, "repo_changed": repo_first + repo_second}


def _gradebook_points(gb, student, sections):
    """{section: automatic points} of a student in a gradebook, one assignment per section."""
    got = {}
    for section in sections:
        sub = gb.find_submission(section, student)
        assert [nb.name for nb in sub.notebooks] == [section], (student, section)
        got[section] = sum(g.auto_score or 0 for nb in sub.notebooks for g in nb.grades if g.cell_type == "code")
    return got


def _mismatches(report, expected, students=None):
    got = scores_of(report)
    bad = []
    for student, per_notebook in expected.items():
        if students and student not in students:
            continue
        for name, points in per_notebook.items():
            if got.get((student, name)) != points:
                bad.append(f"{student}/{name}: expected {points}, got {got.get((student, name))}")
    return bad


def test_every_notebook_gets_the_points_it_earned(graded):
    assert not _mismatches(graded["first"], graded["expected"])


def test_honest_submissions_score_in_full_on_both_runs(graded):
    for report in (graded["first"], graded["second"]):
        got = scores_of(report)
        for student in ("aaa_honest", "zzz_honest", "extras", "duplicated", "vandal", "resubmits_library"):
            assert [got[(student, n)] for n in NOTEBOOKS] == [FULL[n] for n in NOTEBOOKS], student


def test_grading_twice_gives_identical_grades(graded):
    assert scores_of(graded["first"]) == scores_of(graded["second"])


def test_failures_are_reported_with_a_reason(graded):
    status = {(r["student"], r["notebook"]): (r["status"], r["reason"]) for r in graded["first"]["results"]}
    assert status[("dies", "02_forward_pass")][0] == "kernel died"
    assert status[("hog", "02_forward_pass")][0] == "memory"
    assert status[("loops", "01_dataset")][0] == "cell timeout"
    assert status[("broken_json", "01_dataset")][0] == "invalid"
    assert status[("missing", "02_forward_pass")][0] == "missing"
    for key, (state, reason) in status.items():
        assert (state == "ok") == (reason == ""), key
    extras = {(r["notebook"], f) for r in graded["first"]["results"] if r["student"] == "extras" for f in r["extra_files"]}
    assert extras == {("01_dataset", "notes.txt"), ("02_forward_pass", "helper.py")}
    feedback = graded["course"] / "feedback"
    report = (feedback / "dies" / "02_forward_pass" / "grading_report.txt").read_text()
    assert "02_forward_pass: the kernel died" in report
    # one report per section: the section that was graded in full has none
    assert not (feedback / "dies" / "01_dataset" / "grading_report.txt").exists()
    assert "01_dataset: " in (feedback / "broken_json" / "01_dataset" / "grading_report.txt").read_text()
    assert "ignored files that are not part of the assignment: helper.py" in (
        feedback / "extras" / "02_forward_pass" / "grading_report.txt").read_text()
    assert "ignored files that are not part of the assignment: notes.txt" in (
        feedback / "extras" / "01_dataset" / "grading_report.txt").read_text()


def test_the_makemore_py_students_received_is_not_an_extra_file(graded):
    """Every section folder is released with makemore.py, and nbgrader submit hands the folder
    back whole: that file belongs to the assignment (autograde puts the section's own copy over
    it), so it must not be reported as an ignored extra file, nor earn a grading_report.txt."""
    for r in graded["first"]["results"]:
        if r["student"] in HAND_BACK_LIBRARY:
            assert r["extra_files"] == [], f"{r['student']}/{r['notebook']}: {r['extra_files']}"
    for student in HAND_BACK_LIBRARY:
        for name in NOTEBOOKS:
            report = graded["course"] / "feedback" / student / name / "grading_report.txt"
            assert not report.exists(), f"{student}/{name}: {report.read_text()!r}"


def test_course_and_repository_files_are_untouched(graded):
    assert graded["first"]["changed_files"] == [] and graded["second"]["changed_files"] == []
    assert graded["repo_changed"] == []
    # the vandal did aim at both: its kernel saw no file of either, and could write in its own folder
    course = graded["course"]
    nb = nbformat.read(course / "autograded" / "vandal" / "01_dataset" / "01_dataset.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "vandalised" in c.source)
    printed = [o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream"]
    assert printed == ["seen 0\nseen 0\nown folder writable\n"], f"one block, as printed: {printed}"
    # (they are there, outside the sandbox)
    assert all(list((root / d).rglob("*.ipynb")) for root in (course, ROOT) for d in ("source", "release"))


def test_gradebook_holds_what_the_workers_returned(graded):
    from nbgrader.api import Gradebook

    with Gradebook(graded["first"]["db_url"]) as gb:
        for student, per_notebook in graded["expected"].items():
            assert _gradebook_points(gb, student, per_notebook) == per_notebook, student


def test_feedback_shows_results_but_never_hidden_tests(graded):
    page = (graded["course"] / "feedback" / "helper_cheat" / "02_forward_pass" / "02_forward_pass.html").read_text()
    text = html.unescape(re.sub("<[^>]+>", "", page))
    assert "each row of prob should sum to 1" in text            # a visible test's message
    assert "nll on a small example should be 0.6192" in text     # a hidden test's message
    assert "hidden tests ran here" in text
    for secret in ("BEGIN HIDDEN TESTS", "_chk = makemore.checks", "_expected = torch.stack", "manual_seed(1234)"):
        assert secret not in text, secret


def test_feedback_made_on_workers_is_what_nbgrader_makes(graded, tmp_path):
    """The workers make each page in their scratch course; stock `nbgrader generate_feedback
    <section>` on the class gradebook, after the same run, must give the same pages."""
    course = tmp_path / "course"
    shutil.copytree(graded["after_first"], course, ignore=shutil.ignore_patterns("feedback"))
    for student in ("aaa_honest", "helper_cheat", "dies"):
        for section in NOTEBOOKS:
            nbgrader(course, "generate_feedback", section, "--force", f"--student={student}",
                     f"--CourseDirectory.db_url=sqlite:///{course}/gradebook.db")
            ours = graded["after_first"] / "feedback" / student / section
            stock = course / "feedback" / student / section
            pages = sorted(p.name for p in stock.glob("*.html"))
            assert pages == [f"{section}.html"], (student, section, pages)
            assert pages == sorted(p.name for p in ours.glob("*.html")), (student, section)
            for page in pages:
                assert (ours / page).read_text() == (stock / page).read_text(), f"{student}/{section}/{page}"


def test_gradebook_on_postgresql(graded):
    """The second run wrote into PostgreSQL: one assignment per section, every student's points."""
    from nbgrader.api import Gradebook

    report = graded["second"]
    assert report["db_url"].startswith("postgresql://")
    assert not _mismatches(report, graded["expected"])
    with Gradebook(graded["postgres"]) as gb:
        assert sorted(a.name for a in gb.assignments) == NOTEBOOKS  # one assignment per section
        for student, per_notebook in graded["expected"].items():
            assert _gradebook_points(gb, student, per_notebook) == per_notebook, student


def test_dask_scheduler_and_two_worker_processes(graded, dask_scheduler):
    """The second run went through the scheduler (started with `dask scheduler`, two `dask worker`
    processes): every notebook graded there, with the same scores as on the local cluster."""
    from dask.distributed import Client

    with Client(dask_scheduler) as client:
        names = sorted(w["name"] for w in client.scheduler_info()["workers"].values())
    assert names == ["worker-0", "worker-1"], names
    assert len(graded["second"]["results"]) == len(graded["first"]["results"])
    assert scores_of(graded["second"]) == scores_of(graded["first"])


def test_kernels_started_from_scratch_grade_the_same(graded, tmp_path):
    """GradeClass.preload off: every kernel is a new Python, under the same bubblewrap sandbox as
    the zygote's forks. Same scores (the memory cap included), and the vandal still changes nothing."""
    students = [*SUBSET, "vandal", "hog"]
    report, repo_changed = _grade_watching_repo(graded["course"], students=students,
                                                db_url=f"sqlite:///{tmp_path}/gradebook.db",
                                                workers=2, progress=False, feedback=False, preload=False)
    assert not _mismatches(report, graded["expected"], students)
    local = {k: v for k, v in scores_of(graded["first"]).items() if k[0] in students}
    assert scores_of(report) == local
    assert report["changed_files"] == []
    assert repo_changed == []


@pytest.fixture(scope="module")
def one_task(graded):
    """The template of the test course and the honest 02 submission, for grading one task in-process."""
    from mlpcourse.classroom import SandboxedKernelManager, build_template, load_config

    course = graded["course"]
    limits = {"memory_limit_mb": SandboxedKernelManager(config=load_config(course)).memory_limit_mb, "preload": False}
    template = build_template(course, limits)
    payload = (course / "submitted" / "aaa_honest" / "02_forward_pass" / "02_forward_pass.ipynb").read_bytes()
    return template, {"student": "aaa_honest", "notebook": "02_forward_pass", "payload": payload, "files": {}}


def _nbgrader_fails(monkeypatch, *errors):
    """nbgrader's own autograde fails, for real, with each of `errors` in turn (then works): raised
    where its Execute step starts, before any kernel. nbgrader logs the traceback and raises
    NbGraderException("Please see the above traceback ..."), as it does for a kernel that lost its
    ports to another kernel. Returns the list of autograde attempts."""
    from mlpcourse import grade_notebook, grading

    attempts, real_autograde, real_preprocess = [], grade_notebook._autograde, grading.SafeExecute.preprocess

    def autograde(*args):
        attempts.append(1)
        return real_autograde(*args)

    def preprocess(self, nb, resources=None, km=None):
        if len(attempts) <= len(errors):
            raise errors[len(attempts) - 1]
        return real_preprocess(self, nb, resources, km=km)

    monkeypatch.setattr(grade_notebook, "_autograde", autograde)
    monkeypatch.setattr(grading.SafeExecute, "preprocess", preprocess)
    return attempts


def test_nbgrader_failing_once_is_tried_again(one_task, monkeypatch):
    import errno

    import zmq

    from mlpcourse import grade_notebook

    calls = _nbgrader_fails(monkeypatch, zmq.error.ZMQError(errno.EADDRINUSE))
    template, task = one_task
    result = grade_notebook.grade_task(template, task)
    assert len(calls) == 2
    assert result["status"] == "ok", result["reason"]
    assert sum(g["auto_score"] or 0 for g in result["grades"].values()) == FULL["02_forward_pass"]
    assert result["nbgrader_failures"] == ["zmq.error.ZMQError: Address already in use"]


def test_nbgrader_failing_every_time_is_reported_with_its_cause(one_task, monkeypatch):
    from mlpcourse import grade_notebook

    calls = _nbgrader_fails(monkeypatch, *[ValueError("points must be a number")] * grade_notebook.ATTEMPTS)
    template, task = one_task
    result = grade_notebook.grade_task(template, task)
    assert len(calls) == grade_notebook.ATTEMPTS == 2
    assert result["status"] == "error"
    assert result["reason"] == "nbgrader could not grade this notebook: ValueError: points must be a number"
    assert all(g["auto_score"] in (0.0, None) for g in result["grades"].values())


def test_grades_csv_counts_automatic_and_written_points_apart(graded, tmp_path):
    """A notebook that could not be graded still has its maximum split into automatic points and
    written answers (graded by hand later), exactly as a graded one."""
    import csv

    from mlpcourse.class_reports import export_csv
    from mlpcourse.course import graded_cells, source_notebook, written_points

    maxima = {}
    for name in NOTEBOOKS:
        src = nbformat.read(source_notebook(name, graded["course"]), as_version=4)
        maxima[name] = (sum(graded_cells(src).values()), written_points(src))
    with open(export_csv(graded["first"], tmp_path / "grades.csv"), newline="") as f:
        rows = {(r["student"], r["notebook"]): r for r in csv.DictReader(f)}
    for key in [("aaa_honest", "01_dataset"), ("broken_json", "01_dataset"), ("dies", "02_forward_pass"),
                ("missing", "02_forward_pass")]:
        r = rows[key]
        assert (float(r["auto_max"]), float(r["written_max"])) == maxima[key[1]], (key, r)
    assert rows[("broken_json", "01_dataset")]["status"] == "invalid"
