"""Grading a class: isolated, parallel, tamper-proof, nothing lost (python -m mlpcourse grade).

One batch holds honest submissions and one submission per kind of trouble; see
classroom_support.build_class for what each does and the points it must get.
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

import pytest

from classroom_support import NOTEBOOKS, ROOT, build_class, free_port, make_course, run, wait_for
from mlpcourse.classroom import course_fingerprint, grade_class, scores_of

SUBSET = ["aaa_honest", "dies", "missing", "helper_cheat"]


def _repo_files():
    """What the vandal submission aims at in this repository: the data and source/."""
    fingerprint = course_fingerprint(ROOT)
    return {k: v for k, v in fingerprint.items() if k.startswith(("data/", "source/"))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("class") / "course")
    expected = build_class(course)
    repo_before = _repo_files()
    first = grade_class(course, workers=2, progress=False)
    after_first = tmp_path_factory.mktemp("first-run") / "course"  # its autograded notebooks and feedback
    shutil.copytree(course, after_first)
    second = grade_class(course, workers=2, progress=False, feedback=False)
    return {"course": course, "expected": expected, "first": first, "second": second,
            "after_first": after_first, "repo_before": repo_before}


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
        for student in ("aaa_honest", "zzz_honest", "extras", "duplicated", "vandal"):
            assert [got[(student, n)] for n in NOTEBOOKS] == [5.0, 12.0], student


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
    extras = {f for r in graded["first"]["results"] if r["student"] == "extras" for f in r["extra_files"]}
    assert extras == {"notes.txt", "helper.py"}
    report = (graded["course"] / "feedback" / "dies" / "mlp_language_model" / "grading_report.txt").read_text()
    assert "02_forward_pass: the kernel died" in report


def test_course_and_repository_files_are_untouched(graded):
    assert graded["first"]["changed_files"] == [] and graded["second"]["changed_files"] == []
    assert _repo_files() == graded["repo_before"]


def test_gradebook_holds_what_the_workers_returned(graded):
    from nbgrader.api import Gradebook

    with Gradebook(graded["first"]["db_url"]) as gb:
        for student, per_notebook in graded["expected"].items():
            sub = gb.find_submission("mlp_language_model", student)
            got = {nb.name: sum(g.auto_score or 0 for g in nb.grades if g.cell_type == "code")
                   for nb in sub.notebooks}
            assert got == per_notebook, student


def test_feedback_shows_results_but_never_hidden_tests(graded):
    page = (graded["course"] / "feedback" / "helper_cheat" / "mlp_language_model" / "02_forward_pass.html").read_text()
    text = html.unescape(re.sub("<[^>]+>", "", page))
    assert "each row of prob should sum to 1" in text            # a visible test's message
    assert "nll on a small example should be 0.6192" in text     # a hidden test's message
    assert "hidden tests ran here" in text
    for secret in ("BEGIN HIDDEN TESTS", "_chk = mlpcourse.checks", "_expected = torch.stack", "manual_seed(1234)"):
        assert secret not in text, secret


def test_feedback_made_on_workers_is_what_nbgrader_makes(graded, tmp_path):
    """The workers make each page in their scratch course; stock `nbgrader generate_feedback` on
    the class gradebook, after the same run, must give the same pages."""
    from mlpcourse.check import nbgrader

    course = tmp_path / "course"
    shutil.copytree(graded["after_first"], course, ignore=shutil.ignore_patterns("feedback"))
    for student in ("aaa_honest", "helper_cheat", "dies"):
        nbgrader(course, "generate_feedback", "mlp_language_model", "--force", f"--student={student}",
                 f"--CourseDirectory.db_url=sqlite:///{course}/gradebook.db")
        ours = graded["after_first"] / "feedback" / student / "mlp_language_model"
        stock = course / "feedback" / student / "mlp_language_model"
        pages = sorted(p.name for p in stock.glob("*.html"))
        assert pages and pages == sorted(p.name for p in ours.glob("*.html")), student
        for page in pages:
            assert (ours / page).read_text() == (stock / page).read_text(), f"{student}/{page}"


@pytest.fixture
def postgres():
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


def test_gradebook_on_postgresql(graded, postgres):
    from nbgrader.api import Gradebook

    report = grade_class(graded["course"], students=SUBSET, db_url=postgres, workers=2, progress=False,
                         feedback=False)
    assert report["db_url"].startswith("postgresql://")
    assert not _mismatches(report, graded["expected"], SUBSET)
    with Gradebook(postgres) as gb:
        for student in SUBSET:
            sub = gb.find_submission("mlp_language_model", student)
            got = {nb.name: sum(g.auto_score or 0 for g in nb.grades if g.cell_type == "code") for nb in sub.notebooks}
            assert got == graded["expected"][student], student


def test_dask_scheduler_and_two_worker_processes(graded, tmp_path):
    dask = str(Path(sys.executable).parent / "dask")
    scheduler_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(scheduler_file)],
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
        db = tmp_path / "gradebook.db"
        report = grade_class(graded["course"], students=SUBSET, scheduler=address, db_url=f"sqlite:///{db}",
                             progress=False, feedback=False)
        local = {k: v for k, v in scores_of(graded["first"]).items() if k[0] in SUBSET}
        assert scores_of(report) == local
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_kernels_started_from_scratch_grade_the_same(graded, tmp_path):
    """GradeClass.preload off: every kernel is a new Python, shut in by the same mount script as
    the zygote's forks. Same scores (the memory cap included), and the vandal still changes nothing."""
    students = [*SUBSET, "vandal", "hog"]
    report = grade_class(graded["course"], students=students, db_url=f"sqlite:///{tmp_path}/gradebook.db",
                         workers=2, progress=False, feedback=False, preload=False)
    assert not _mismatches(report, graded["expected"], students)
    local = {k: v for k, v in scores_of(graded["first"]).items() if k[0] in students}
    assert scores_of(report) == local
    assert report["changed_files"] == []
    assert _repo_files() == graded["repo_before"]


@pytest.fixture(scope="module")
def one_task(graded):
    """The template of the test course and the honest 02 submission, for grading one task in-process."""
    from mlpcourse.classroom import GradeClass, build_template, load_config

    course = graded["course"]
    settings = GradeClass(config=load_config(course))
    limits = {"cell_timeout": settings.cell_timeout, "notebook_timeout": settings.notebook_timeout,
              "memory_limit_mb": settings.memory_limit_mb, "preload": False}
    template = build_template(course, limits)
    payload = (course / "submitted" / "aaa_honest" / "mlp_language_model" / "02_forward_pass.ipynb").read_bytes()
    return template, {"student": "aaa_honest", "notebook": "02_forward_pass", "payload": payload, "files": {}}


def test_nbgrader_failing_once_is_tried_again(one_task, monkeypatch):
    from mlpcourse import classroom

    real, calls = classroom._autograde, []

    def flaky(*args):
        calls.append(1)
        if len(calls) == 1:  # what a kernel that lost its ports to another kernel leaves in the log
            return {"success": False, "log": "Traceback …\nzmq.error.ZMQError: Address already in use\n"
                                             "nbgrader.converters.base.NbGraderException: Please see the above"}
        return real(*args)

    monkeypatch.setattr(classroom, "_autograde", flaky)
    template, task = one_task
    result = classroom.grade_task(template, task)
    assert len(calls) == 2
    assert result["status"] == "ok", result["reason"]
    assert sum(g["auto_score"] or 0 for g in result["grades"].values()) == 12.0
    assert result["nbgrader_failures"] == ["zmq.error.ZMQError: Address already in use"]


def test_nbgrader_failing_every_time_is_reported_with_its_cause(one_task, monkeypatch):
    from mlpcourse import classroom

    calls = []

    def broken(*args):
        calls.append(1)
        return {"success": False, "log": "ValueError: points must be a number\n"
                                         "nbgrader.converters.base.NbGraderException: Please see the above"}

    monkeypatch.setattr(classroom, "_autograde", broken)
    template, task = one_task
    result = classroom.grade_task(template, task)
    assert len(calls) == classroom.ATTEMPTS == 2
    assert result["status"] == "error"
    assert result["reason"] == "nbgrader could not grade this notebook: ValueError: points must be a number"
    assert all(g["auto_score"] in (0.0, None) for g in result["grades"].values())
