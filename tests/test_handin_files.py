"""Submissions are data, never paths (issue 27, item 2): the class grader, stock `nbgrader autograde`
and `nbgrader collect` with the course's config take only regular files of the student's own folder.

One scratch course (sections 01 and 02, tests/classroom_support.py) gets a class of 01 in which
every submission but the victim's points somewhere it must not: the notebook a symlink to the
victim's work (or to the instructor's solution), a hard link to it, the whole student folder a
symlink to the victim's, and an honest notebook handed in with a symlink to a secret outside the
course, a FIFO and a hard link to that secret next to it. Each must cost only what it names, with a
reason in build/grades.csv, the printed report and the feedback, and the secret is never read.
Each grader (and collect) runs as root and as an unprivileged user, each on a course of its own.
"""
import csv
import io
import os
import pickle
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from classroom_support import GENEROUS, FULL, _nbs, as_user, make_course, nbgrader, skip_unless_root_for
from mlpcourse.class_reports import export_csv, print_report, scores_of, write_reasons
from mlpcourse.course import load_config
from mlpcourse.handin import Refused, open_folder, read_file
from mlpcourse.submissions import answered, reference_answers

SECTION = "01_dataset"
SECRET = b"the instructor's secret: never in a student's hands\n"


def _folder(course, student):
    folder = course / "submitted" / student / SECTION
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _class(course, outside):
    """The class of 01 in course/submitted; returns {student: expected automatic points}."""
    src, rel = _nbs(course)
    reference = answered(rel[SECTION], reference_answers(src[SECTION]))
    secret = outside / "secret.txt"
    secret.write_bytes(SECRET)
    victim = _folder(course, "victim") / f"{SECTION}.ipynb"
    nbformat.write(reference, victim)
    (_folder(course, "to_victim") / f"{SECTION}.ipynb").symlink_to(victim)
    (_folder(course, "to_solution") / f"{SECTION}.ipynb").symlink_to(course / "source" / SECTION / f"{SECTION}.ipynb")
    # a copy of the victim's work under another name, hard-linked into the student's folder
    stash = outside / "victim-copy.ipynb"
    shutil.copy(victim, stash)
    os.link(stash, _folder(course, "hard_linked") / f"{SECTION}.ipynb")
    (course / "submitted" / "whole_folder").symlink_to(course / "submitted" / "victim")
    honest = _folder(course, "with_links")
    nbformat.write(reference, honest / f"{SECTION}.ipynb")
    (honest / "notes.txt").symlink_to(secret)
    (honest / "hard.txt").hardlink_to(secret)
    os.mkfifo(honest / "pipe")
    # the same one folder down, where nbgrader's copy step (every subfolder, shutil.copy) would follow them
    deep = _folder(course, "deep_links")
    nbformat.write(reference, deep / f"{SECTION}.ipynb")
    (deep / "sub").mkdir()
    (deep / "sub" / "notes.txt").symlink_to(secret)
    (deep / "sub" / "hard.txt").hardlink_to(secret)
    (deep / "sub" / "mine.txt").write_text("my own notes\n")
    # and in a folder the grader may not write in (read-only, as a student can hand it in): the link
    # cannot be renamed there as it stands, and nbgrader goes on to copy after a hook that failed
    locked = _folder(course, "locked_links")
    nbformat.write(reference, locked / f"{SECTION}.ipynb")
    (locked / "sub").mkdir()
    (locked / "sub" / "notes.txt").symlink_to(secret)
    (locked / "sub").chmod(0o555)
    return {"victim": FULL[SECTION], "to_victim": 0.0, "to_solution": 0.0, "hard_linked": 0.0,
            "whole_folder": 0.0, "with_links": FULL[SECTION], "deep_links": FULL[SECTION],
            "locked_links": FULL[SECTION]}


REASONS = {"to_victim": ["01_dataset.ipynb is a symbolic link"],
           "to_solution": ["01_dataset.ipynb is a symbolic link"],
           "hard_linked": ["01_dataset.ipynb is a hard link"],
           "whole_folder": ["whole_folder/ is a symbolic link"],
           "with_links": ["notes.txt is a symbolic link", "hard.txt is a hard link", "pipe is a FIFO"]}
# stock autograde copies a submission's subfolders (the class grader reads none: an extra, never read)
STOCK_REASONS = {**REASONS, "deep_links": ["sub/notes.txt is a symbolic link", "sub/hard.txt is a hard link"],
                 "locked_links": ["sub/notes.txt is a symbolic link"]}


@pytest.fixture(scope="module", params=["root", "unprivileged"])
def course(request, tmp_path_factory):
    """(course, outside, expected, the user every grader runs as)."""
    skip_unless_root_for(request.param)
    base = tmp_path_factory.mktemp("handin")
    outside = base / "outside"
    outside.mkdir()
    course = make_course(base / "course")
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(GENEROUS)
    expected = _class(course, outside)
    return course, outside, expected, request.param


def _tree_bytes(folder):
    return [p.read_bytes() for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink()]


def test_handin_reads_only_regular_files_of_ones_own(tmp_path):
    root = tmp_path / "submitted"
    (root / "s" / "a").mkdir(parents=True)
    (tmp_path / "secret").write_bytes(SECRET)
    (root / "s" / "a" / "ok.txt").write_bytes(b"mine")
    (root / "s" / "a" / "link").symlink_to(tmp_path / "secret")
    (root / "s" / "a" / "hard").hardlink_to(tmp_path / "secret")
    os.mkfifo(root / "s" / "a" / "fifo")  # opened without O_NONBLOCK, this would hang the grader
    (root / "t").symlink_to(root / "s")
    fd = open_folder(root, "s", "a")
    try:
        assert read_file(fd, "ok.txt") == b"mine"
        for name, why in [("link", "symbolic link"), ("hard", "hard link"), ("fifo", "FIFO")]:
            with pytest.raises(Refused, match=why):
                read_file(fd, name)
        if os.geteuid() == 0:  # only root can make a device node
            os.mknod(root / "s" / "a" / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
            with pytest.raises(Refused, match="character device"):
                read_file(fd, "null")
    finally:
        os.close(fd)
    with pytest.raises(Refused, match="t/ is a symbolic link"):
        open_folder(root, "t", "a")


def test_a_submission_the_grader_cannot_make_safe_is_set_aside_whole(tmp_path):
    """nbgrader copies a submission after a pre-convert hook that failed, following its links: the
    hook never fails open. A link it cannot rename (in a folder that is not the grader's) sets the
    whole submission aside, read by nobody; if even that is impossible, grading stops."""
    skip_unless_root_for("root")  # (folders owned by another user)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    folders = {}
    for student in ("foreign_sub", "foreign_student"):
        folder = tmp_path / "submitted" / student / SECTION
        (folder / "sub").mkdir(parents=True)
        (folder / f"{SECTION}.ipynb").write_text("{}")
        (folder / "sub" / "notes.txt").symlink_to(tmp_path / "secret.txt")
        os.chown(folder / "sub", 12345, 12345)
        (folder / "sub").chmod(0o555)
        folders[student] = folder
    os.chown(folders["foreign_student"].parent, 12345, 12345)  # the student folder is not the grader's either
    folders["foreign_student"].parent.chmod(0o555)
    code = ("import sys; from mlpcourse.nbgrader_handin import defuse, refusals\n"
            "defuse(notebooks=[sys.argv[1] + '/01_dataset.ipynb']); print(refusals(sys.argv[1]))")

    done = subprocess.run(as_user("unprivileged", [sys.executable, "-c", code, str(folders["foreign_sub"])]),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "01_dataset/ holds an entry the grader could not set aside" in done.stdout, done.stdout
    assert list(folders["foreign_sub"].iterdir()) == [], "the set-aside submission's place is empty"
    aside = folders["foreign_sub"].with_name(SECTION + ".refused-by-grader")
    assert (aside / "sub" / "notes.txt").is_symlink() and (aside / f"{SECTION}.ipynb").is_file()

    stopped = subprocess.run(as_user("unprivileged", [sys.executable, "-c", code, str(folders["foreign_student"])]),
                             capture_output=True, text=True, timeout=120)
    assert stopped.returncode != 0 and "grading stopped" in stopped.stderr, stopped.stderr[-3000:]
    assert (folders["foreign_student"] / "sub" / "notes.txt").is_symlink(), "nothing was moved"


def _grade_class(course, user):
    """grade_class's report, the grader run as `user` (as_user) in a process of its own."""
    out = course / "build" / "report.pickle"
    out.parent.mkdir(exist_ok=True)
    code = ("import pickle; from mlpcourse.classroom import grade_class\n"
            f"r = grade_class({str(course)!r}, workers=1, assignments=[{SECTION!r}], progress=False)\n"
            f"open({str(out)!r}, 'wb').write(pickle.dumps(r))")
    proc = subprocess.run(as_user(user, [sys.executable, "-c", code]), capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return pickle.loads(out.read_bytes())


def test_class_grader_refuses_links_fifos_and_hard_links(course):
    course, outside, expected, user = course
    report = _grade_class(course, user)
    scores = scores_of(report)
    assert {s: scores[(s, SECTION)] for s in expected} == expected, \
        f"each refusal should cost only the file it names: {scores}"
    results = {r["student"]: r for r in report["results"]}
    for student, reasons in REASONS.items():
        for why in reasons:
            assert why in results[student]["reason"], f"{student}: {why!r} missing from {results[student]['reason']!r}"
    assert results["victim"]["status"] == "ok" and not results["victim"]["reason"]
    rows = {r["student"]: r for r in csv.DictReader(open(export_csv(report, course / "build" / "grades.csv")))}
    printed = io.StringIO()
    print_report(report, out=printed)
    write_reasons(course, report["results"])
    for student, reasons in REASONS.items():
        feedback_dir = course / "feedback" / student / SECTION
        pages = [p.read_text() for p in feedback_dir.glob("*") if p.is_file()]
        for why in reasons:
            assert why in rows[student]["reason"], f"grades.csv misses {why!r} for {student}"
            assert why in printed.getvalue(), f"the printed report misses {why!r} for {student}"
            assert any(why in page for page in pages), f"feedback/{student} misses {why!r}"
    assert not any(SECRET in b for b in _tree_bytes(course / "autograded") + _tree_bytes(course / "feedback"))


def test_stock_autograde_refuses_links_fifos_and_hard_links(course):
    course, outside, expected, user = course
    from nbgrader.api import Gradebook

    nbgrader(course, "autograde", SECTION, "--force", user=user)
    nbgrader(course, "generate_feedback", SECTION, "--force", user=user)
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        got = {s: gb.find_submission(SECTION, s).score for s in expected}
    assert got == expected, f"each refusal should cost only the file it names: {got}"
    for student, reasons in STOCK_REASONS.items():
        page = (course / "feedback" / student / SECTION / f"{SECTION}.html").read_text()
        for why in reasons:
            assert why in page, f"the feedback of {student} should say {why!r}"
    # nothing was read or copied through a link: the secret is nowhere, nor is the victim's work
    # under another student's name, nor the instructor's solution
    assert not any(SECRET in b for b in _tree_bytes(course / "autograded") + _tree_bytes(course / "feedback"))
    solution = (course / "source" / SECTION / f"{SECTION}.ipynb").read_bytes()
    assert not any(b == solution for b in _tree_bytes(course / "autograded"))
    assert sorted(p.name for p in (course / "autograded" / "with_links" / SECTION).iterdir()) == \
        sorted([f"{SECTION}.ipynb", "makemore.py"])
    assert sorted(p.relative_to(course / "autograded" / "deep_links" / SECTION).as_posix()
                  for p in (course / "autograded" / "deep_links" / SECTION).rglob("*")) == \
        sorted([f"{SECTION}.ipynb", "makemore.py", "sub", "sub/mine.txt"])


def test_collect_copies_only_regular_files(tmp_path, course):
    course, outside, expected, user = course
    exchange = tmp_path / "exchange"
    env = {**os.environ, "NBGRADER_EXCHANGE": str(exchange)}  # an exchange of this test's own
    inbound = exchange / load_config(course).CourseDirectory.course_id / "inbound"
    sub = inbound / f"mallory+{SECTION}+2026-12-01 10:00:00.000000 UTC+abc"
    sub.mkdir(parents=True)
    src, rel = _nbs(course)
    nbformat.write(answered(rel[SECTION], reference_answers(src[SECTION])), sub / f"{SECTION}.ipynb")
    (sub / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    (sub / "notes.txt").symlink_to(outside / "secret.txt")
    (sub / "hard.txt").hardlink_to(outside / "secret.txt")
    os.mkfifo(sub / "pipe")
    proc = subprocess.run(as_user(user, [sys.executable, "-m", "nbgrader", "collect", SECTION, "--update"]), cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = course / "submitted" / "mallory" / SECTION
    assert sorted(p.name for p in got.iterdir()) == sorted([f"{SECTION}.ipynb", "timestamp.txt"]), \
        f"collect should copy only the regular files: {sorted(p.name for p in got.iterdir())}"
    for why in ["notes.txt: notes.txt is a symbolic link", "hard.txt: hard.txt is a hard link", "pipe: pipe is a FIFO"]:
        assert why in proc.stderr + proc.stdout, f"collect should log {why!r}"
