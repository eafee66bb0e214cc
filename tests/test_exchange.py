"""Two students on one machine, through nbgrader's exchange, configured as this course configures it.

The issue: "Two students on one machine: with two separate home folders (and, where the test can
create them, two user ids), neither can read the other's submission through the exchange; a late
submission is marked late".

A scratch course (section 01) is built in tmp_path; the exchange and the students' home folders
are in a temporary folder of the system's /tmp that every user can enter (pytest's own base folder
is private to the user who runs the tests). The instructor (the user running the tests) puts
alice and bob on the roster, sets 01's due date and releases 01. Each student has a home folder
of their own (mode 0700), with the Jupyter folder `python -m mlpcourse student-setup` makes; each
fetches 01, answers it correctly and submits it: alice before the due date, bob after it (the due
date is moved, between the two submissions, to a moment after alice's submission and before
bob's, so the outcome never depends on timing). Then, as each student, the exchange is searched
for the other's submission: the inbound folder cannot be listed (nbgrader makes it 0733), so
globbing and walking the exchange find nothing there and `nbgrader list --inbound` shows nothing
of the other; `nbgrader list --cached` shows only the student's own submission; and the
submission's name ends with a random string. (That is all nbgrader promises: a submission's own
folder is 0777 and its files 0644, readable by anyone who knows the name.) The instructor collects and grades with the class grader, and the
gradebook must hold the roster's names, each submission's timestamp (the timestamp.txt `nbgrader
collect` wrote), alice on time with full automatic points, bob late.

Run as root (with util-linux's `setpriv`), each student is a user id of their own, and, where the test
can make a private mount namespace (`unshare --mount`), /etc/passwd there names those ids
`alice` and `bob`, so that nbgrader takes each student's id from the login name, as on a real
machine (nbgrader 0.9.6 `submit` calls pwd.getpwuid(os.getuid()) and fails with
"KeyError: 'getpwuid(): uid not found: 61001'" for an id without an entry). Where it cannot, the
students' config names them (c.CourseDirectory.student_id). Not root: everyone is the same user,
the students' configs name them, and the checks that need two user ids are skipped (the separate
home folders, the due date, names and timestamps are still tested).

Alone: .venv/bin/python -m pytest tests/test_exchange.py
"""
import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from mlpcourse.assignments import scratch_course
from mlpcourse.course import graded_cells, release_notebook, source_notebook
from mlpcourse.student_setup import set_up
from mlpcourse.submissions import answered, reference_answers

SECTION = "01_dataset"
COURSE_ID = "makemore-mlp"  # student/nbgrader_config.py
ROSTER = {"alice": ("Alice", "Lovelace"), "bob": ("Bob", "Babbage")}
FIRST_UID = 61001
IS_ROOT = os.geteuid() == 0
SEPARATE_IDS = IS_ROOT and shutil.which("setpriv") is not None  # each student a user id of their own
NBGRADER = [sys.executable, "-m", "nbgrader"]
DUE_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's own timestamp format, to the microsecond

# Run as a student: everything this lists about the exchange and the other student's home, as JSON.
PROBE = textwrap.dedent("""
    import glob, json, os, sys
    exchange, inbound, other_home = sys.argv[1:4]
    out = {}
    for key, path in (("inbound", inbound), ("other_home", other_home)):
        try:
            out[key] = sorted(os.listdir(path))
        except OSError as e:
            out[key] = f"{type(e).__name__}: {e}"
    out["glob"] = sorted(glob.glob(os.path.join(inbound, "*")) + glob.glob(os.path.join(inbound, "*", "*")))
    out["walk"] = sorted(os.path.join(d, f) for d, _, files in os.walk(exchange) for f in files)
    print(json.dumps(out))
""")


def _free_uids(n, start=FIRST_UID):
    """n user ids from `start` on that no account (and no group id) of this machine uses."""
    used = {p.pw_uid for p in pwd.getpwall()} | {g.gr_gid for g in grp.getgrall()}
    uids, uid = [], start
    while len(uids) < n:
        if uid not in used:
            uids.append(uid)
        uid += 1
    return uids


def _run(args, cwd, env, timeout=300, check=True):
    """Run a command in its own process group (killed with everything it started if it outlives
    `timeout`); return the CompletedProcess, asserting success when `check`."""
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"{' '.join(map(str, args))} ran for more than {timeout} s:\n{out[-2000:]}\n{err[-3000:]}")
    result = subprocess.CompletedProcess(args, proc.returncode, out, err)
    if check:
        assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{out[-2000:]}\n{err[-3000:]}"
    return result


def _env(home, exchange, names, user=None):
    """A clean environment for one person: their HOME (and Jupyter folders under it), the exchange."""
    drop = ("NBGRADER_", "JUPYTER", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update({"HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "NBGRADER_EXCHANGE": str(exchange),
                "MAKEMORE_NAMES": str(names), "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")})
    if user:
        env.update({"USER": user, "LOGNAME": user, "TMPDIR": str(home)})
    return env


def _can_bind_passwd(passwd):
    """Whether a private mount namespace with `passwd` over /etc/passwd can be made here."""
    if not (SEPARATE_IDS and shutil.which("unshare") and shutil.which("mount")):
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                            'mount --bind "$1" /etc/passwd && grep -q "^alice:" /etc/passwd', "sh", str(passwd)],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


class Student:
    """A student with a home folder (0700) of their own, their Jupyter folder as student-setup makes
    it and, as root, a user id of their own."""

    def __init__(self, name, uid, home, exchange, names, passwd):
        """`home` holds the student's Jupyter folder (.jupyter, made by student-setup) already."""
        self.name, self.uid, self.passwd, self.home = name, uid, passwd, home
        if passwd is None:  # no login name for this student: their config says who they are
            with (self.home / ".jupyter" / "nbgrader_config.py").open("a") as f:
                f.write(f'\nc.CourseDirectory.student_id = "{name}"\n')
        self.env = _env(self.home, exchange, names, user=name)
        self.home.chmod(0o700)
        self.own(self.home)

    def own(self, path):
        """Give `path` (and everything under it) to this student."""
        if self.uid is None:
            return
        for p in [path, *path.rglob("*")]:
            os.lchown(p, self.uid, self.uid)

    def command(self, args):
        """`args` as this student runs them: under their user id, and with their login name in
        /etc/passwd of a private mount namespace when the test can make one."""
        if self.uid is None:
            return list(args)
        args = ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--", *args]
        if self.passwd is not None:
            args = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                    'mount --bind "$1" /etc/passwd && shift && exec "$@"', "sh", str(self.passwd), *args]
        return args

    def run(self, args, check=True):
        return _run(self.command(args), self.home, self.env, timeout=120, check=check)

    def nbgrader(self, *args, check=True):
        return self.run([*NBGRADER, *args], check=check)

    def probe(self, exchange, other):
        """What this student can see of the exchange's inbound folder and of `other`'s home."""
        proc = self.run([sys.executable, "-c", PROBE, str(exchange), str(exchange / COURSE_ID / "inbound"),
                         str(other.home)])
        return json.loads(proc.stdout)


@pytest.fixture
def shared():
    """A folder every user can enter, for the exchange and the students' home folders (removed
    afterwards; root removes what the students' ids wrote)."""
    path = Path(tempfile.mkdtemp(prefix="mlpcourse-exchange-test-"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        assert not path.exists(), f"could not remove {path}"


@pytest.fixture
def homes(shared):
    """{student: home folder}, each with the Jupyter folder `python -m mlpcourse student-setup`
    makes, set up in the background (7 s each) while the test sets up the course: call the
    fixture's value to wait for them."""
    folders = {sid: shared / sid for sid in ROSTER}
    with ThreadPoolExecutor(len(folders)) as pool:  # leaving it waits for both, even after a failure
        made = [pool.submit(set_up, home / ".jupyter") for home in folders.values()]

        def ready():
            for future in made:
                future.result()
            return folders

        yield ready


def test_two_students_on_one_machine(tmp_path, shared, homes):
    t_start = time.monotonic()
    course = scratch_course([SECTION], root=tmp_path / "course")
    names = course / "data" / "names.txt"
    exchange = shared / "exchange"  # nbgrader creates it (release_assignment), writable by all
    inbound = exchange / COURSE_ID / "inbound"
    instructor = _env(tmp_path / "instructor", exchange, names)
    source = nbformat.read(source_notebook(SECTION, course), as_version=4)
    auto_max = sum(graded_cells(source).values())
    assert auto_max > 0, f"{SECTION} has no automatically graded test cells"
    db_url = f"sqlite:///{course / 'gradebook.db'}"

    def instructor_runs(*args, timeout=300):
        return _run([*NBGRADER, *args], course, instructor, timeout=timeout)

    # 1. the instructor: the roster, a due date well ahead (moved below), the release
    for sid, (first, last) in ROSTER.items():
        instructor_runs("db", "student", "add", sid, f"--first-name={first}", f"--last-name={last}")
    ahead = datetime.now(timezone.utc) + timedelta(hours=1)
    instructor_runs("db", "assignment", "add", SECTION, f"--duedate={ahead.strftime(DUE_FORMAT)}")
    instructor_runs("release_assignment", SECTION)
    assert (exchange / COURSE_ID / "outbound" / SECTION / f"{SECTION}.ipynb").is_file(), "release put no notebook out"
    assert inbound.is_dir(), f"release_assignment made no {inbound}"

    # 2. two students, each in a home of their own (and, as root, with an id and login name of their own)
    uids = _free_uids(len(ROSTER)) if SEPARATE_IDS else [None] * len(ROSTER)
    passwd = shared / "passwd"
    passwd.write_text(Path("/etc/passwd").read_text() + "".join(
        f"{sid}:x:{uid}:{uid}:{first} {last}:{shared / sid}:/bin/sh\n"
        for (sid, (first, last)), uid in zip(ROSTER.items(), uids) if uid is not None))
    passwd.chmod(0o644)
    logins = _can_bind_passwd(passwd)
    home_of = homes()
    alice, bob = (Student(sid, uid, home_of[sid], exchange, names, passwd if logins else None)
                  for sid, uid in zip(ROSTER, uids))
    student_python = sys.version.split()[0]
    if alice.uid is not None:  # the students' processes must be able to start this venv's Python
        ran = alice.run([sys.executable, "-c", "import sys, nbgrader; print(sys.version.split()[0])"], check=False)
        if ran.returncode == 0:
            student_python = ran.stdout.strip()
        else:
            # e.g. a checkout under a folder only root may enter (mkdtemp makes them 0700): then the
            # students are the same user as the instructor, and the checks that need two ids are skipped
            reason = (f"user id {alice.uid} cannot run {sys.executable} with nbgrader (a folder above the venv "
                      f"or its Python is closed to other users): {ran.stderr.strip().splitlines()[-1:]}")
            warnings.warn(f"test_exchange: one user id for everybody: {reason}")
            print(f"\n{reason}")
            uids, logins = [None] * len(ROSTER), False
            alice, bob = (Student(sid, None, home_of[sid], exchange, names, None) for sid in ROSTER)
    release_nb = nbformat.read(release_notebook(SECTION, course), as_version=4)
    correct = answered(release_nb, reference_answers(source))

    def fetch_and_answer(student):
        student.nbgrader("fetch_assignment", SECTION)
        fetched = student.home / SECTION / f"{SECTION}.ipynb"
        assert fetched.is_file(), f"{student.name}: fetch_assignment put no {fetched}"
        nbformat.write(correct, fetched)
        student.own(fetched)

    def submit(student):
        student.nbgrader("submit", SECTION)
        mine = sorted(p.name for p in inbound.iterdir() if p.name.startswith(f"{student.name}+{SECTION}+"))
        assert len(mine) == 1, f"{student.name}'s submission is not in the exchange under the name {student.name}: " \
                               f"{sorted(p.name for p in inbound.iterdir())}"
        submission = inbound / mine[0]
        if student.uid is not None:
            assert submission.stat().st_uid == student.uid, f"{submission} is not owned by {student.name}'s user id"
        return submission

    with ThreadPoolExecutor(2) as pool:  # both fetch (at the same time: they are independent)
        list(pool.map(fetch_and_answer, (alice, bob)))
    alice_in = submit(alice)
    # the due date passes: a moment after alice's submission (its timestamp is taken when submit
    # starts) and before bob's (taken when his submit starts, after this command has finished)
    due = datetime.now(timezone.utc)
    instructor_runs("db", "assignment", "add", SECTION, f"--duedate={due.strftime(DUE_FORMAT)}")
    bob_in = submit(bob)

    # 3. neither student can find the other's submission through the exchange (the listings of
    # nbgrader's own command run two at a time)
    pairs = ((bob, alice, alice_in), (alice, bob, bob_in))
    with ThreadPoolExecutor(2) as pool:
        listings = {(me.name, what): pool.submit(me.nbgrader, "list", f"--{what}", check=False)
                    for me, _, _ in pairs for what in ("inbound", "cached") if what == "cached" or me.uid is not None}
        for me, other, theirs in pairs:
            if me.uid is not None:
                seen = me.probe(exchange, other)
                assert str(seen["inbound"]).startswith("PermissionError: [Errno 13] Permission denied"), (
                    f"{me.name} can list the exchange's inbound folder: {seen['inbound']}")
                assert seen["glob"] == [], f"{me.name} finds submissions in the exchange: {seen['glob']}"
                assert [p for p in seen["walk"] if p.startswith(str(inbound))] == [], (
                    f"walking the exchange, {me.name} finds submissions: {seen['walk']}")
                assert str(seen["other_home"]).startswith("PermissionError"), (
                    f"{me.name} can list {other.name}'s home folder (mode 0700): {seen['other_home']}")
                listed = listings[me.name, "inbound"].result()
                shown = listed.stdout + listed.stderr
                assert other.name not in shown and theirs.name not in shown, (
                    f"`nbgrader list --inbound` shows {me.name} {other.name}'s submission:\n{shown}")
            listed = listings[me.name, "cached"].result()
            shown = listed.stdout + listed.stderr
            assert listed.returncode == 0 and f"{me.name} {SECTION}" in shown and other.name not in shown, (
                f"`nbgrader list --cached` of {me.name} shows not only their own submission:\n{shown}")
            # what nbgrader relies on beyond that: the name ends with a random string nobody can guess
            assert len(theirs.name.split("+")) == 4 and len(theirs.name.split("+")[3]) >= 12, (
                f"{theirs.name}: no random string at the end of the submission's name")

    # 4. the instructor collects and grades the class
    instructor_runs("collect", SECTION)
    stamps = {}
    for sid in ROSTER:
        stamp = course / "submitted" / sid / SECTION / "timestamp.txt"
        assert stamp.is_file(), f"collect wrote no {stamp.relative_to(course)}"
        assert (stamp.parent / f"{SECTION}.ipynb").is_file(), f"collect brought back no notebook of {sid}"
        stamps[sid] = parse_utc(stamp.read_text().strip())
    assert stamps["alice"] < due.replace(tzinfo=None) < stamps["bob"], (
        f"the due date {due} does not fall between the two submissions: {stamps}")
    t_grade = time.monotonic()
    _run([sys.executable, "-c", "import sys; from mlpcourse.classroom import grade_class; "
          "grade_class(course_root=sys.argv[1], assignments=[sys.argv[2]], progress=False, workers=1)",
          str(course), SECTION], course, instructor, timeout=600)
    grade_seconds = time.monotonic() - t_grade

    with Gradebook(db_url) as gb:
        for sid, (first, last) in ROSTER.items():
            student = gb.find_student(sid)
            assert (student.first_name, student.last_name) == (first, last), (
                f"{sid}'s name in the gradebook is {student.first_name} {student.last_name}, not {first} {last}")
            submission = gb.find_submission(SECTION, sid)
            assert submission.timestamp == stamps[sid], (
                f"{sid}'s submission has the timestamp {submission.timestamp} in the gradebook, "
                f"its timestamp.txt {stamps[sid]}")
            scores = {g.name: g.auto_score for g in gb.find_submission_notebook(SECTION, SECTION, sid).grades}
            got = sum(scores.get(k) or 0 for k in graded_cells(source))
            assert got == auto_max, f"the class grader gave {sid} {got}/{auto_max} automatic points: {scores}"
        late = {sid: gb.find_submission(SECTION, sid).total_seconds_late for sid in ROSTER}
        recorded_due = gb.find_assignment(SECTION).duedate
        assert recorded_due == due.replace(tzinfo=None), f"the gradebook's due date is {recorded_due}, not {due}"
    assert late["alice"] == 0, f"alice submitted before the due date {due} and is marked late: {late}"
    assert late["bob"] > 0, f"bob submitted after the due date {due} and is not marked late: {late}"

    ids = "user ids " + ", ".join(str(u) for u in uids) if uids[0] is not None else "one user id"
    print(f"\n{ids}; login names in /etc/passwd: {logins}; students' Python {student_python}; late: {late}; "
          f"grading {grade_seconds:.1f} s; whole test {time.monotonic() - t_start:.1f} s")
