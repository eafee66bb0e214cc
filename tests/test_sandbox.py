"""A hostile student against the grading sandbox (mlpcourse.sandbox), under the class grader and
under stock `nbgrader autograde`, each run as root and as an unprivileged user.

The hostile 01 holds the reference answers, and one answer cell also tries everything at once:
read the instructor's notebooks, remount and write the course, the repository, the grading
folder and /tmp, rewrite the gradebook, empty the data, delete source/, leave a process behind,
and reach a server on 127.0.0.1. The "peeker" hands in the untouched release whose answer cells
execute the instructor's solutions, read from the course folder. The "forger" hands in wrong
answers and forges the tests' verdicts in its kernel (mlpcourse.submissions.FORGERY). The attacks do not depend on the
notebook (the sandbox is the same for every section), so they are played on 01, the quickest.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from classroom_support import FULL, ROOT, make_course
from classroom_support import as_user as _as
from mlpcourse.answers import catalogue
from mlpcourse.course import nbgrader_meta, release_notebook, source_notebook
from mlpcourse.grade_notebook import grading_base
from mlpcourse.submissions import answered, forger, reference_answers, write_submission

SECTION = "01_dataset"
ATTACK = """
import json, os, pathlib, shutil, socket, sqlite3, subprocess
_course, _repo = pathlib.Path({course!r}), pathlib.Path({repo!r})
_own = pathlib.Path.cwd().parent.parent  # the kernel's own folder (it works in disk/work/)
_report = {{"seen": [str(p) for p in [_course / "source", _course / "gradebook.db", _repo / "source",
                                      _repo / "mlpcourse" / "answers"] if p.exists()]}}
# no file it can read holds a hidden test (nbgrader's copy of the notebook does)
_report["seen"] += [str(p) for p in pathlib.Path.cwd().rglob("*") if p.is_file() and b"HIDDEN TESTS" in p.read_bytes()]
# of the grading folder (other students' scratch courses), only the path to its own folder
_report["seen"] += [str(p) for p in pathlib.Path({base!r}).rglob("*") if p.is_file() and _own not in p.parents]
_report["remount"] = subprocess.run(["mount", "-o", "remount,bind,rw", "/"], capture_output=True).returncode
_report["written"] = []
for _p in [_course / "source" / "new.txt", _course / "new.txt", _repo / "new-{tag}.txt",
           pathlib.Path("/tmp/escaped-{tag}.txt"), pathlib.Path({base!r}) / "escaped-{tag}.txt"]:
    try:
        _p.write_text("x")
        _report["written"].append(str(_p))
    except OSError:
        pass
try:
    with sqlite3.connect(f"file:{{_course / 'gradebook.db'}}?mode=rw", uri=True) as _db:
        _db.execute("UPDATE grade SET auto_score = max_score")
    _report["gradebook"] = "changed"
except Exception as _e:
    _report["gradebook"] = type(_e).__name__
for _p in [_course / "data" / "names.txt", _course / "requirements.txt"]:
    try:
        _p.write_text("")
    except OSError:
        pass
shutil.rmtree(_course / "source", ignore_errors=True)
if os.fork() == 0:  # a process that outlives the kernel: double fork, new session
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{marker}"])
    os._exit(0)
import time
time.sleep(0.5)
_report["background"] = sum(1 for _p in os.listdir("/proc") if _p.isdigit()
                            and b"{marker}" in pathlib.Path("/proc", _p, "cmdline").read_bytes())
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    _report["network"] = "connected"
except OSError as _e:
    _report["network"] = type(_e).__name__
print("ATTACK", json.dumps(_report))
"""
PEEK = """
import json, pathlib
_cells = json.loads(pathlib.Path({course!r}, "source", "01_dataset", "01_dataset.ipynb").read_text())["cells"]
exec("".join(next(c["source"] for c in _cells if c["metadata"].get("nbgrader", {{}}).get("grade_id") == {grade_id!r})))
"""


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port, self.accepted, self.running = self.sock.getsockname()[1], 0, True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
                self.accepted += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def _tree(course):
    """Every file of the course but what grading writes (autograded/, feedback/, the gradebook)."""
    out = {}
    for path in sorted(Path(course).rglob("*")):
        rel = path.relative_to(course).as_posix()
        if rel.startswith(("autograded/", "feedback/", "gradebook.db", "build/")) or not path.is_file():
            continue
        out[rel] = path.read_bytes()
    return out


def _processes_with(marker):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def _grade(grader, user, course, students):
    if grader == "stock":  # every student submitted, in the order of their ids
        out = subprocess.run(_as(user, [sys.executable, "-m", "nbgrader", "autograde", SECTION, "--force"]),
                             cwd=course, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
        return
    code = ("import sys; from mlpcourse.classroom import grade_class\n"
            f"r = grade_class({str(course)!r}, students={students!r}, workers=1, progress=False, feedback=False)\n"
            "from mlpcourse.class_reports import export_csv\n"  # build/grades.csv, as the command writes it
            f"export_csv(r, {str(course / 'build' / 'grades.csv')!r})\n"
            "sys.exit(1 if r['changed_files'] else 0)")
    out = subprocess.run(_as(user, [sys.executable, "-c", code]), capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]


def _score(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        return gb.find_submission_notebook(SECTION, SECTION, student).score


@pytest.fixture(scope="module")
def notebooks():
    src = nbformat.read(source_notebook(SECTION, ROOT), as_version=4)
    rel = nbformat.read(release_notebook(SECTION, ROOT), as_version=4)
    return src, rel


@pytest.mark.parametrize("user", ["root", "unprivileged"])
@pytest.mark.parametrize("grader", ["class", "stock"])
def test_a_hostile_student_gains_nothing_and_changes_nothing(grader, user, notebooks, tmp_path):
    if os.geteuid() != 0 and user == "root":
        pytest.skip("the grader is not root here")
    src, rel = notebooks
    course = make_course(tmp_path / "course")
    (course / "requirements.txt").write_text("torch==2.13.0\n")
    tag, marker = uuid.uuid4().hex[:8], f"4321.{uuid.uuid4().int % 10**6:06d}"
    base = grading_base()
    listener = Listener()
    try:
        answers = reference_answers(src)
        mistake = catalogue()[SECTION][0][0]  # letters counted from 0: loses vocab_test
        wrong = dict(answers, **{mistake.cell: mistake.apply(answers[mistake.cell])})
        lost = sum(float(nbgrader_meta(c).get("points", 0)) for c in src.cells
                   if nbgrader_meta(c).get("grade_id") in mistake.loses)
        attack = ATTACK.format(course=str(course), repo=str(ROOT), base=str(base), tag=tag, marker=marker,
                               port=listener.port)
        hostile = dict(answers, n_examples=answers["n_examples"] + "\n" + attack)
        peek = {gid: PEEK.format(course=str(course), grade_id=gid) for gid in answers}
        # graded in this order: the wrong answer's scores are in the gradebook before the attack runs
        write_submission(course, "aaa_wrong", {SECTION: answered(rel, wrong)})
        write_submission(course, "hostile", {SECTION: answered(rel, hostile)})
        write_submission(course, "peeker", {SECTION: answered(rel, peek)})
        forged, _, forged_loses, _ = forger(rel, src, catalogue()[SECTION][0])
        write_submission(course, "forger", {SECTION: forged})
        before = _tree(course)
        _grade(grader, user, course, ["aaa_wrong", "forger", "hostile", "peeker"])
    finally:
        listener.close()

    report = _marked(course / "autograded" / "hostile" / SECTION / f"{SECTION}.ipynb", "ATTACK")
    assert report["seen"] == [], f"the kernel could see {report['seen']}"
    assert report["remount"] != 0 and report["written"] == [], report
    assert report["gradebook"] != "changed" and report["network"] != "connected", report
    assert report["background"] == 1, "the background process did not start"
    assert listener.accepted == 0
    # nothing written outside the kernel's folder: the course (new files included), the gradebook,
    # the repository, the grading folder, /tmp
    assert _tree(course) == before
    assert _score(course, "aaa_wrong") == FULL[SECTION] - lost
    escaped = [ROOT / f"new-{tag}.txt", Path(f"/tmp/escaped-{tag}.txt"), base / f"escaped-{tag}.txt"]
    assert not [p for p in escaped if p.exists()]
    # no process left behind (a grace period for the kernel's killed processes to be reaped, not a time limit)
    deadline = time.monotonic() + 60
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(marker) == [], "a process started by a grading kernel outlived grading"
    # no points gained: the hostile notebook earns what its answers earn, the peeker nothing
    assert _score(course, "hostile") == FULL[SECTION]
    assert _score(course, "peeker") == 0.0
    # the forger (wrong answers, verdicts forged in the kernel) earns what its answers earn
    assert _score(course, "forger") == FULL[SECTION] - sum(float(nbgrader_meta(c).get("points", 0)) for c in src.cells
                                                  if nbgrader_meta(c).get("grade_id") in forged_loses)
    shutil.rmtree(course, ignore_errors=True)


def test_grading_refuses_to_run_without_the_sandbox_unless_told(notebooks, tmp_path):
    src, rel = notebooks
    course = make_course(tmp_path / "course")
    write_submission(course, "honest", {SECTION: answered(rel, reference_answers(src))})
    no_bwrap = "--SandboxedKernelManager.bwrap=/nonexistent/bwrap"
    refused = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", SECTION, no_bwrap],
                             cwd=course, capture_output=True, text=True)
    assert "bubblewrap (/nonexistent/bwrap) is not installed" in refused.stdout + refused.stderr
    assert _score(course, "honest") == 0.0
    told = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", SECTION, "--force", no_bwrap,
                           "--SandboxedKernelManager.unsandboxed=True"], cwd=course, capture_output=True, text=True)
    assert told.returncode == 0, told.stderr[-3000:]
    assert "UNSANDBOXED grading kernel" in told.stdout + told.stderr
    assert _score(course, "honest") == FULL[SECTION]

    from mlpcourse.classroom import grade_class

    with open(course / "nbgrader_config.py", "a") as config:
        config.write('\nc.SandboxedKernelManager.bwrap = "/nonexistent/bwrap"\n')
    with pytest.raises(RuntimeError, match="is not installed.*unsandboxed"):
        grade_class(course, progress=False)
    report = grade_class(course, progress=False, feedback=False, workers=1, unsandboxed=True,
                         db_url=f"sqlite:///{tmp_path}/class.db")
    assert "is not installed" in report["unsandboxed"]
    assert [(r["student"], r["status"]) for r in report["results"]] == [("honest", "ok")]
    from mlpcourse.class_reports import scores_of

    assert scores_of(report)[("honest", SECTION)] == FULL[SECTION]


def test_grading_refuses_to_start_where_landlock_is_missing_unless_told(notebooks, tmp_path, monkeypatch):
    """Without Landlock (Linux before 5.13) nothing keeps a kernel's files beside its connection file
    on the real disk to its capped folder: the kernel manager (stock autograde's) and the class
    grader refuse to start and say why, unless landlock_required is switched off."""
    import asyncio

    from mlpcourse import sandbox
    from mlpcourse.classroom import grade_class

    src, rel = notebooks
    course = make_course(tmp_path / "course")
    write_submission(course, "honest", {SECTION: answered(rel, reference_answers(src))})
    monkeypatch.setattr(sandbox, "landlock_abi", lambda: 0)
    manager = sandbox.SandboxedKernelManager()
    with pytest.raises(RuntimeError, match=r"Landlock \(Linux 5.13 or later\) is not available.*landlock_required"):
        asyncio.run(manager._async_pre_start_kernel(cwd=str(course / "release" / SECTION)))
    with pytest.raises(RuntimeError, match="Landlock .* is not available"):
        grade_class(course, progress=False)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write("\nc.SandboxedKernelManager.landlock_required = False\n")
    report = grade_class(course, progress=False, feedback=False, workers=1, db_url=f"sqlite:///{tmp_path}/class.db")
    assert [(r["student"], r["status"]) for r in report["results"]] == [("honest", "ok")]


def test_stock_autograde_a_notebook_that_is_not_json_costs_only_itself(notebooks, tmp_path):
    """One section per assignment: a broken notebook fails its own (student, section), nothing else."""
    src, rel = notebooks
    course = make_course(tmp_path / "course")
    honest = answered(rel, reference_answers(src))
    write_submission(course, "broken", {SECTION: honest})
    (course / "submitted" / "broken" / SECTION / f"{SECTION}.ipynb").write_text('{"cells": [')
    write_submission(course, "honest", {SECTION: honest})
    second = "02_forward_pass"
    src2, rel2 = (nbformat.read(f(second, ROOT), as_version=4) for f in (source_notebook, release_notebook))
    write_submission(course, "broken", {second: answered(rel2, reference_answers(src2))})
    for section in (SECTION, second):
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", section], cwd=course, capture_output=True)
    assert _score(course, "honest") == FULL[SECTION]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        assert gb.find_submission_notebook(second, second, "broken").score == FULL[second]


# --- a kernel against the process that forks the next student's kernel (issue 27) -----------------

# The attacker's answer cell: every way towards its parent (under the class grader, the worker's
# zygote), then a background process that would record what the next kernels do, and files planted
# where the next kernel might look. Each attempt reports an errno (or what it got).
REACH = """
import ctypes, json, os, resource, signal, time
_libc = ctypes.CDLL(None, use_errno=True)
_parent = os.getppid()
_r = {{"parent": _parent}}
def _try(name, call):
    try:
        _r[name] = call()
    except OSError as e:
        _r[name] = "errno %d" % e.errno
def _c(result):
    if result == -1:
        raise OSError(ctypes.get_errno(), "refused")
    return "done"
_try("ptrace_attach", lambda: _c(_libc.ptrace(16, _parent, 0, 0)))
_try("ptrace_seize", lambda: _c(_libc.ptrace(0x4206, _parent, 0, 0)))
class _Iov(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
_buf = ctypes.create_string_buffer(64)
_mine = _Iov(ctypes.addressof(_buf), 64)
_addr = int(open("/proc/self/maps").readline().split("-")[0], 16)  # mapped in the parent too (a fork)
_theirs = _Iov(_addr, 64)
_try("process_vm_readv", lambda: _c(_libc.process_vm_readv(_parent, ctypes.byref(_mine), 1, ctypes.byref(_theirs), 1, 0)))
_try("process_vm_writev", lambda: _c(_libc.process_vm_writev(_parent, ctypes.byref(_mine), 1, ctypes.byref(_theirs), 1, 0)))
_try("proc_mem", lambda: open("/proc/%d/mem" % _parent, "r+b").close() or "opened")
_try("sigstop_parent", lambda: os.kill(_parent, signal.SIGSTOP) or "sent")
_try("sigstop_init", lambda: os.kill(1, signal.SIGSTOP) or "sent")
_try("sigstop_all", lambda: os.kill(-1, signal.SIGSTOP) or "sent")
_try("prlimit_parent", lambda: resource.prlimit(_parent, resource.RLIMIT_NOFILE, (3, 3)) and "set")
_try("affinity_parent", lambda: os.sched_setaffinity(_parent, {{0}}) or "set")
_try("nice_user", lambda: os.setpriority(os.PRIO_USER, os.getuid(), 19) or "set")
_try("pidfd_parent", lambda: os.pidfd_open(_parent) and "opened")
for _place in ["/dev/shm", os.environ.get("HOME", "."), ".", "/dev", "/tmp"]:
    try:
        with open(os.path.join(_place, "planted-{tag}"), "w") as _f:
            _f.write("planted")
    except OSError:
        pass
if os.fork() == 0:  # a recorder: what any later process shows in /proc, into /dev/shm
    os.setsid()
    if os.fork() == 0:
        _end = time.monotonic() + 600
        while time.monotonic() < _end:
            for _p in os.listdir("/proc"):
                if _p.isdigit():
                    for _what in ("cmdline", "environ", "mem"):
                        try:
                            with open("/proc/%s/%s" % (_p, _what), "rb") as _f, open("/dev/shm/recorded-{tag}", "ab") as _out:
                                _out.write(_f.read(65536))
                        except (OSError, ValueError):
                            pass
            time.sleep(0.05)
        os._exit(0)
    os._exit(0)
print("REACH", json.dumps(_r))
"""
# The reader comes last: it looks everywhere the attacker planted or recorded, and runs whatever
# answer of another student it finds.
READ = """
import json, os, pathlib
_found, _cells = [], []
for _place in ["/dev/shm", os.environ.get("HOME", "."), ".", "/dev", "/tmp"]:
    try:
        _names = os.listdir(_place)
    except OSError:
        continue
    for _n in _names:
        if "{tag}" in _n:
            _found.append(os.path.join(_place, _n))
            try:
                _text = pathlib.Path(_place, _n).read_bytes()
            except OSError:
                continue
            _cells += [c for c in _text.split(b"\\x00") if b"SECRET" + b"-{tag}" in c]
print("READ", json.dumps({{"found": _found, "secrets": len(_cells)}}))
"""


def _marked(autograded_path, prefix):
    """The JSON a cell printed after PREFIX. A print reaches the notebook as one or more stream
    outputs (the kernel sends what it holds every 0.2 s, so a line may be cut anywhere): the
    cell's stdout and stderr are each read whole."""
    nb = nbformat.read(autograded_path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and f'print("{prefix}"' in c.source]
    assert len(cells) == 1, f"one cell should print {prefix}, found {len(cells)}"
    outputs = cells[0].get("outputs", [])
    streams = ["".join(o.get("text", "") for o in outputs if o.get("name") == name) for name in ("stdout", "stderr")]
    lines = [line for text in streams for line in text.splitlines() if line.startswith(prefix + " ")]
    shown = [(o.get("name") or o.get("output_type"), str(o.get("text") or o.get("evalue", ""))[:300]) for o in outputs]
    assert len(lines) == 1, f"the cell printing {prefix} did not run to its end; its outputs begin: {shown}"
    return json.loads(lines[0][len(prefix) + 1:])


@pytest.mark.parametrize("user", ["root", "unprivileged"])
@pytest.mark.parametrize("grader", ["class", "stock"])
def test_a_kernel_cannot_reach_the_process_that_forks_the_next_one(grader, user, notebooks, tmp_path):
    """An attacker, a victim and a reader in one class, graded in that order by one worker (under the
    class grader they share its zygote): nothing reaches the zygote, the victim's cells never reach
    the attacker or the reader, everyone earns what their answers earn, and the run finishes."""
    if os.geteuid() != 0 and user == "root":
        pytest.skip("the grader is not root here")
    src, rel = notebooks
    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as config:  # kernels from scratch import torch in a cell
        config.write("\nc.SafeExecute.timeout = 300\n")
    tag = uuid.uuid4().hex[:8]
    answers = reference_answers(src)
    write_submission(course, "aaa_attacker", {SECTION: answered(rel, dict(
        answers, n_examples=answers["n_examples"] + "\n" + REACH.format(tag=tag)))})
    write_submission(course, "mmm_victim", {SECTION: answered(rel, {
        gid: f"# SECRET-{tag} of the victim\n{text}" for gid, text in answers.items()})})
    write_submission(course, "zzz_reader", {SECTION: answered(rel, {"vocab": READ.format(tag=tag)})})
    _grade(grader, user, course, ["aaa_attacker", "mmm_victim", "zzz_reader"])

    def autograded(student):
        return course / "autograded" / student / SECTION / f"{SECTION}.ipynb"

    reach = _marked(autograded("aaa_attacker"), "REACH")
    if grader == "class":  # its parent is the zygote: every way towards it is refused
        reached = {k: v for k, v in reach.items() if k != "parent" and not str(v).startswith("errno ")}
        assert reached == {}, f"a forked kernel reached its zygote: {reached}"
    read = _marked(autograded("zzz_reader"), "READ")
    assert read == {"found": [], "secrets": 0}, f"the next kernels found what the attacker left: {read}"
    assert f"SECRET-{tag}" not in autograded("aaa_attacker").read_text()
    assert f"SECRET-{tag}" not in autograded("zzz_reader").read_text()
    assert _score(course, "aaa_attacker") == FULL[SECTION]  # what its answers earn
    assert _score(course, "mmm_victim") == FULL[SECTION]
    assert _score(course, "zzz_reader") == 0.0  # it typed no answer of its own
    shutil.rmtree(course, ignore_errors=True)


def _in_kernel_disk(zygote, name):
    """A file a forked kernel wrote in its tmpfs, seen from outside through the kernel's /proc/PID/root."""
    from mlpcourse import zygote as zygote_module
    from mlpcourse.landlock import DISK

    sandbox = zygote_module._sandbox_processes(zygote.proc.pid)
    kernels = zygote_module._children().get(sandbox[-1], []) if len(sandbox) == 3 else []
    for pid in kernels:
        path = Path(f"/proc/{pid}/root{zygote.folder}", DISK, name)
        try:
            if path.exists():
                return path
        except OSError:
            pass
    return Path(zygote.folder, "no kernel yet")


def test_a_zygote_that_stops_answering_is_replaced_and_its_notebook_graded_again(notebooks, tmp_path):
    """What the seccomp filter and PR_SET_DUMPABLE refuse a kernel, done from outside (as a successful
    exploit would): the zygote is stopped while it serves a notebook, then before one. The worker does
    not hang (every call to the zygote has a timeout), replaces the zygote, and grades that notebook
    again from a kernel started from scratch: it earns what its answers earn."""
    import signal

    from mlpcourse import zygote as zygote_module
    from mlpcourse.classroom import build_template
    from mlpcourse.grade_notebook import grade_task

    src, rel = notebooks
    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as config:  # kernels from scratch import torch in a cell
        config.write("\nc.SafeExecute.timeout = 300\n")
    limits = {"memory_limit_mb": 2048, "file_limit_mb": 256, "shm_limit_mb": 64, "preload": True, "bwrap": "bwrap"}
    template = build_template(course, limits, [SECTION])
    answers = reference_answers(src)
    # the first answer waits until its zygote (its parent) is stopped; graded again from a kernel
    # started from scratch (whose parent is bubblewrap), it goes straight on
    waits = ("import os, pathlib, time\npathlib.Path('started').write_text('')\n"
             "_zygote = b'zygote.py' in pathlib.Path('/proc/%d/cmdline' % os.getppid()).read_bytes()\n"
             "while _zygote and open('/proc/%d/stat' % os.getppid()).read().rsplit(')', 1)[1].split()[0] != 'T':\n"
             "    time.sleep(0.1)\n")
    payload = nbformat.writes(answered(rel, dict(answers, vocab=waits + answers["vocab"]))).encode()
    task = {"student": "s1", "notebook": SECTION, "payload": payload, "files": {}}
    stopped = []

    def stop_the_zygote_once_its_kernel_runs():
        while not stopped:
            zygote = zygote_module._zygote
            if zygote is not None and _in_kernel_disk(zygote, "work/started").exists():
                pid = zygote_module._sandbox_processes(zygote.proc.pid)[2]
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
            time.sleep(0.05)

    try:
        stopper = threading.Thread(target=stop_the_zygote_once_its_kernel_runs, daemon=True)
        stopper.start()
        result = grade_task(template, task)
        stopper.join()
        assert "was stopped" in result.get("zygote_replaced", ""), result.get("zygote_replaced")
        assert result["status"] == "ok", result["reason"]
        assert sum(g["auto_score"] or 0 for g in result["grades"].values()) == FULL[SECTION]
        assert not Path(f"/proc/{stopped[0]}").exists() or zygote_module._state(stopped[0])[0] in ("Z", "")

        # stopped before the notebook: its kernel cannot be forked (the clear request times out)
        zygote = zygote_module.shared_zygote(str(grading_base()), shm_mb=64)
        os.kill(zygote_module._sandbox_processes(zygote.proc.pid)[2], signal.SIGSTOP)
        honest = nbformat.writes(answered(rel, answers)).encode()
        result = grade_task(template, dict(task, student="s2", payload=honest))
        assert "was stopped" in result.get("zygote_replaced", ""), result.get("zygote_replaced")
        assert result["status"] == "ok", result["reason"]
        assert sum(g["auto_score"] or 0 for g in result["grades"].values()) == FULL[SECTION]
        assert zygote_module._zygote is None or zygote_module._zygote is not zygote
    finally:
        zygote_module.replace_zygote()
        shutil.rmtree(course, ignore_errors=True)


# --- limits of every kernel: disk and output (issue 27) ----------------------------------------------

FLOOD_LIMITS = """
c.SafeExecute.timeout = 300
c.SandboxedKernelManager.file_limit_mb = 16
c.SandboxedKernelManager.shm_limit_mb = 8
c.SafeExecute.max_cell_chars = 1_000_000
c.SafeExecute.max_notebook_chars = 2_000_000
"""
# in the answer cell of build_dataset: 64 MiB into one file of its folder, 32 MiB into /dev/shm, then
# 10.5 million characters on one line (the 900,000 before it and the 600,000 after it: other cells)
FLOOD = """
import json, os, sys
def _fill(path, mib):
    written = 0
    try:
        with open(path, "wb") as f:
            for _ in range(mib):
                f.write(b"x" * 2**20)
                f.flush()
                written += 2**20
    except OSError as e:
        return {{"written": written, "errno": e.errno, "size": os.path.getsize(path)}}
    return {{"written": written, "errno": 0, "size": os.path.getsize(path)}}
_r = {{"folder": _fill("big-{tag}", 64), "shm": _fill("/dev/shm/big-{tag}", 32)}}
print("FLOOD", json.dumps(_r), file=sys.stderr, flush=True)  # an output of its own, before the flood
print("b" * 10_500_000)
"""


@pytest.mark.parametrize("user", ["root", "unprivileged"])
@pytest.mark.parametrize("grader", ["class", "stock"])
def test_limits_cost_only_the_notebook_that_hits_them(grader, user, notebooks, tmp_path):
    """Disk (a file in its folder, /dev/shm) and output (characters per cell and per notebook, on one
    line) are capped for every kernel under both graders; the flooder keeps the points its answers
    earn, loses its output past the limits with an OutputLimit error that says why, and the honest
    student graded after it is untouched."""
    if os.geteuid() != 0 and user == "root":
        pytest.skip("the grader is not root here")
    src, rel = notebooks
    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(FLOOD_LIMITS)
    tag = uuid.uuid4().hex[:8]
    answers = reference_answers(src)
    flood = dict(answers, vocab=answers["vocab"] + "\nprint('a' * 900_000)",
                 build_dataset=answers["build_dataset"] + "\n" + FLOOD.format(tag=tag),
                 n_examples=answers["n_examples"] + "\nprint('c' * 600_000)")
    write_submission(course, "flooder", {SECTION: answered(rel, flood)})
    write_submission(course, "honest", {SECTION: answered(rel, answers)})
    _grade(grader, user, course, ["flooder", "honest"])

    path = course / "autograded" / "flooder" / SECTION / f"{SECTION}.ipynb"
    report = _marked(path, "FLOOD")
    assert report["folder"]["errno"] == 27 and report["folder"]["size"] <= 16 * 2**20, report  # EFBIG
    assert report["shm"]["errno"] == 28 and report["shm"]["size"] <= 8 * 2**20, report  # ENOSPC
    nb = nbformat.read(path, as_version=4)
    outputs = {nbgrader_meta(c).get("grade_id"): c.get("outputs", []) for c in nb.cells}
    texts = {gid: "".join(o.get("text", "") for o in outs) for gid, outs in outputs.items()}
    cut = {gid: [o["evalue"] for o in outs if o.get("ename") == "OutputLimit"] for gid, outs in outputs.items()}
    # kept: the first cell's 900,000; of the 10.5 million on one line, what fits in the cell's 1,000,000;
    # of the last 600,000, what fits in the notebook's 2,000,000 (figures count too)
    assert "a" * 900_000 in texts["vocab"] and cut["vocab"] == []
    assert 900_000 < texts["build_dataset"].count("b") <= 1_000_000
    assert cut["build_dataset"] and "this cell's output went over 1,000,000 characters" in cut["build_dataset"][0]
    assert texts["n_examples"].count("c") < 100_000
    assert cut["n_examples"] and "the notebook's output went over 2,000,000 characters" in cut["n_examples"][0]
    assert len(path.read_text()) < 2_000_000 + 100_000  # the notebook's own cells on top
    assert _score(course, "flooder") == FULL[SECTION] and _score(course, "honest") == FULL[SECTION]
    if grader == "class":
        import csv

        rows = {r["student"]: r for r in csv.DictReader(open(course / "build" / "grades.csv"))}
        assert rows["flooder"]["status"] == "output limit", rows["flooder"]
        assert "over 1,000,000 characters" in rows["flooder"]["reason"]
        assert rows["honest"]["status"] == "ok"
    shutil.rmtree(course, ignore_errors=True)


DISK_LIMITS = """
c.SafeExecute.timeout = 300
c.SandboxedKernelManager.file_limit_mb = 16
c.SandboxedKernelManager.disk_limit_mb = 48
"""
# after the answer of vocab: 64 files of 15 MiB (each under the file cap) into its folder, a file next
# to its connection file and one in the files it was given, new entries beside its connection file,
# then one more MiB, not caught
FILL = """
import json, os
_st = os.statvfs(".")
_r = {{"capacity": _st.f_blocks * _st.f_frsize, "files": 0, "errno": 0, "outside": {{}}}}
try:
    for _i in range(64):
        with open(f"many-{tag}-{{_i}}", "wb") as _f:
            for _ in range(15):
                _f.write(b"x" * 2**20)
                _f.flush()
        _r["files"] += 1
except OSError as _e:
    _r["errno"] = _e.errno
_r["kept"] = sum(os.path.getsize(_p) for _p in os.listdir(".") if _p.startswith("many-"))
for _p in ["../../many-{tag}-outside", "../../seed/work/makemore.py", "../../ipc-{tag}"]:
    try:
        with open(_p, "ab") as _f:
            _f.write(b"x")
        _r["outside"][_p] = "written"
    except OSError as _e:
        _r["outside"][_p] = _e.errno
# then new entries in its connection folder, where Landlock lets it make sockets: binds, a socket node,
# a hard link of one of its own ipc sockets, a ZeroMQ ipc bind, and io_uring, whose operations seccomp
# never sees
import ctypes, socket, stat, zmq
_before = set(os.listdir("../.."))
_r["sealed"] = {{"bind": []}}
def _errno(_call):
    try:
        _call()
        return 0
    except OSError as _e:
        return _e.errno
for _i in range(200):
    with socket.socket(socket.AF_UNIX) as _s:
        _r["sealed"]["bind"].append(_errno(lambda: _s.bind(f"../../s-{tag}-{{_i}}")))
_r["sealed"]["bind"] = sorted(set(_r["sealed"]["bind"]))
_r["sealed"]["mknod"] = _errno(lambda: os.mknod("../../n-{tag}", 0o600 | stat.S_IFSOCK))
_ipc = sorted(_p for _p in _before if _p.startswith("ipc-"))
_r["sealed"]["link"] = _errno(lambda: os.link("../../" + _ipc[0], "../../l-{tag}")) if _ipc else "no ipc-N"
with zmq.Context() as _ctx, _ctx.socket(zmq.PULL) as _z:
    try:
        _z.bind("ipc://../../z-{tag}")
        _r["sealed"]["zmq"] = 0
    except zmq.ZMQError as _e:
        _r["sealed"]["zmq"] = _e.errno
_libc = ctypes.CDLL(None, use_errno=True)
_params = ctypes.create_string_buffer(120)  # struct io_uring_params
_r["sealed"]["io_uring"] = 0 if _libc.syscall(425, 8, _params) >= 0 else ctypes.get_errno()
_r["new_entries"] = len(set(os.listdir("../..")) - _before)
print("DISK", json.dumps(_r), flush=True)
with open("one-more-{tag}", "wb") as _f:
    _f.write(b"x" * 2**20)
"""


@pytest.mark.parametrize("user", ["root", "unprivileged"])
@pytest.mark.parametrize("grader", ["class", "stock"])
def test_a_kernel_writes_no_more_than_its_disk_limit(grader, user, notebooks, tmp_path):
    """What a kernel writes, in many files each under the file cap, stops at disk_limit_mb (a tmpfs of
    its own, "No space left on device"), no file of the real disk can be written or made beside it
    (no socket, socket node or hard link in its connection folder either, nor an io_uring),
    the notebook loses only the failing cell (an answer cell: no points), the class grader says why,
    the honest student graded next earns full points, and nothing written is left anywhere."""
    if os.geteuid() != 0 and user == "root":
        pytest.skip("the grader is not root here")
    import tempfile

    src, rel = notebooks
    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(DISK_LIMITS)
    tag = uuid.uuid4().hex[:8]
    answers = reference_answers(src)
    write_submission(course, "filler", {SECTION: answered(rel, dict(
        answers, vocab=answers["vocab"] + "\n" + FILL.format(tag=tag)))})
    write_submission(course, "honest", {SECTION: answered(rel, answers)})
    _grade(grader, user, course, ["filler", "honest"])

    path = course / "autograded" / "filler" / SECTION / f"{SECTION}.ipynb"
    report = _marked(path, "DISK")
    assert report["capacity"] == 48 * 2**20, report  # its folder is the capped tmpfs
    assert report["errno"] == 28 and report["files"] < 48 // 15 + 1 and report["kept"] <= 48 * 2**20, report
    assert report["outside"] == {p: 13 for p in report["outside"]}, report  # EACCES, from Landlock
    # beside its connection file: no bind, socket node, hard link or io_uring (EPERM, from the seal)
    sealed = report["sealed"], report["new_entries"]
    assert sealed == ({"bind": [1], "mknod": 1, "link": 1, "zmq": 1, "io_uring": 1}, 0), sealed
    errors = [o for c in nbformat.read(path, as_version=4).cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert [o["evalue"] for o in errors] == ["[Errno 28] No space left on device"], errors
    assert _score(course, "filler") == FULL[SECTION] and _score(course, "honest") == FULL[SECTION]
    if grader == "class":
        import csv

        rows = {r["student"]: r for r in csv.DictReader(open(course / "build" / "grades.csv"))}
        assert rows["filler"]["status"] == "disk limit", rows["filler"]
        assert "its folder, each file in it and its /dev/shm are capped" in rows["filler"]["reason"]
        assert rows["honest"]["status"] == "ok"
    # the kernels' folders (the class grader's under grading_base(), stock autograde's kernel-* in /tmp)
    left = [p for place in (grading_base(), course) for p in place.rglob(f"*{tag}*")]
    left += list(Path(tempfile.gettempdir()).glob(f"kernel-*/**/*{tag}*"))
    assert left == [], f"what the kernel wrote was left on the disk: {left}"
    shutil.rmtree(course, ignore_errors=True)


SEALED = """
import ctypes, json, os, socket, stat, sys, threading
sys.path.insert(0, {mlpcourse!r})
import seccomp
folder = {folder!r}
def attempt(call):
    try:
        call()
        return 0
    except OSError as e:
        return e.errno
def unix_bind(name):
    return attempt(lambda: socket.socket(socket.AF_UNIX).bind(os.path.join(folder, name)))
go, seen = threading.Event(), {{}}
thread = threading.Thread(target=lambda: (go.wait(), seen.update(thread=unix_bind("thread"))))
thread.start()  # a thread that exists before the seal, as ipykernel's do
open(os.path.join(folder, "file"), "w").close()
seccomp.seal()
go.set()
thread.join()
seen["bind"] = unix_bind("main")
seen["tcp"] = attempt(lambda: socket.socket().bind(("127.0.0.1", 0)))
seen["mknod socket"] = attempt(lambda: os.mknod(os.path.join(folder, "node"), 0o600 | stat.S_IFSOCK))
seen["mknod fifo"] = attempt(lambda: os.mknod(os.path.join(folder, "fifo"), 0o600 | stat.S_IFIFO))
seen["mknod file"] = attempt(lambda: os.mknod(os.path.join(folder, "plain"), 0o600 | stat.S_IFREG))
seen["link"] = attempt(lambda: os.link(os.path.join(folder, "file"), os.path.join(folder, "hard")))
libc = ctypes.CDLL(None, use_errno=True)
seen["io_uring"] = 0 if libc.syscall(425, 8, ctypes.create_string_buffer(120)) >= 0 else ctypes.get_errno()
seen["socketpair"] = attempt(socket.socketpair)
pid = os.fork()
if pid == 0:
    os._exit(unix_bind("child"))
seen["child"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps(seen))
"""


def test_the_seal_holds_in_every_thread_and_child_and_spares_fifos(tmp_path):
    """The seal (mlpcourse.seccomp.seal), in a process of its own: bind (Unix or TCP), hard links,
    socket nodes and io_uring are refused (EPERM) in the thread that seals, a thread that existed
    before and a child forked after; a FIFO, a regular file's node and a socket pair still work."""
    import mlpcourse.seccomp

    if not mlpcourse.seccomp.supported():
        pytest.skip("the seal is built for x86-64 Linux")
    out = subprocess.run([sys.executable, "-c", SEALED.format(mlpcourse=str(Path(mlpcourse.seccomp.__file__).parent),
                                                              folder=str(tmp_path))],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout)
    refused = ("thread", "bind", "tcp", "mknod socket", "link", "io_uring", "child")
    assert {k: seen[k] for k in refused} == {k: 1 for k in refused}, seen
    assert {k: v for k, v in seen.items() if k not in refused} == {"mknod fifo": 0, "mknod file": 0, "socketpair": 0}
    assert sorted(os.listdir(tmp_path)) == ["fifo", "file", "plain"]
