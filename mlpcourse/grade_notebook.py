# Grades one (student, section) on a Dask worker: nbgrader's autograde in a scratch course of its own.
# Never writes to the class gradebook or the course folder; it returns scores, and the driver records them.
"""The worker side of the class grader (mlpcourse.classroom): one submitted notebook, isolated.

Each task gets a scratch course (config, a copy of the gradebook template, the section's
makemore.py, a read-only copy of the data, the submission), is graded by nbgrader's autograde
with the kernel shut in (mlpcourse.sandbox), and comes back as scores, the autograded
notebook, the first failure a student should know about and, if asked, the feedback page.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from unittest import mock

import nbformat

from .course import LIBRARY, load_config, write_config_files
from .grading import KERNEL_DIED, NOTEBOOK_TIMEOUT, OUTPUT_LIMIT
from .sandbox import GRADING_KERNEL, write_kernelspec

def zero_scores(template, notebook, status, reason):
    return {"status": status, "reason": reason,
            "grades": {gid: {"auto_score": 0.0 if kind == "test" else None, "max_score": pts,
                             "needs_manual_grade": False, "kind": kind}
                       for gid, (kind, pts) in template["cells"][notebook].items()},
            "autograded": None}


def _diagnose(autograded_text):
    """The first failure a student should know about in an autograded notebook, or ''."""
    nb = nbformat.reads(autograded_text, as_version=4)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            name, value = out.get("ename", ""), str(out.get("evalue", ""))
            if name == KERNEL_DIED:
                return "kernel died", f"the kernel died in cell {i + 1}; cells after it were not run"
            if name == NOTEBOOK_TIMEOUT:
                return "timeout", f"the notebook's time limit was reached at cell {i + 1}"
            if name == "CellTimeoutError":
                return "cell timeout", f"cell {i + 1} ran longer than the time limit and was interrupted"
            if name == "MemoryError" or "can't allocate memory" in value or "DefaultCPUAllocator" in value:
                return "memory", f"cell {i + 1} went over the memory limit"
            if name == OUTPUT_LIMIT:
                return "output limit", f"cell {i + 1}: {value.split(';')[0]}; the rest of its output was dropped"
            if "File too large" in value or "No space left on device" in value:
                return "disk limit", (f"cell {i + 1} wrote more than a grading kernel may keep (its folder, each "
                                      "file in it and its /dev/shm are capped: see the limits in "
                                      "nbgrader_config.py); write less, or delete what you no longer need")
    return "ok", ""


def _autograde(scratch, student, notebook, template):
    """nbgrader's autograde of one student in a scratch course, in this process (kernels shut in)."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = load_config(scratch)
    config.CourseDirectory.root = str(scratch)
    config.CourseDirectory.db_url = f"sqlite:///{scratch}/gradebook.db"
    config.SafeExecute.kernel_name = GRADING_KERNEL
    limits = template["limits"]
    config.SandboxedKernelManager.names_file = str(scratch / "data" / "names.txt")
    config.SandboxedKernelManager.memory_limit_mb = limits["memory_limit_mb"]
    for limit in ("file_limit_mb", "shm_limit_mb", "disk_limit_mb"):
        if limit in limits:
            setattr(config.SandboxedKernelManager, limit, limits[limit])
    config.SandboxedKernelManager.unsandboxed = bool(limits.get("unsandboxed"))
    config.SandboxedKernelManager.bwrap = limits.get("bwrap", "bwrap")
    config.SafeExecute.timing_file = str(scratch / "timing.json")
    with mock.patch.dict(os.environ, {"JUPYTER_PATH": str(write_kernelspec(scratch, template, template.get("zygote"))),
                                      "JUPYTER_RUNTIME_DIR": str(scratch / "home" / "runtime")}):
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        return api.autograde(notebook, student, force=True, create=True)


def grading_folder(uid):
    """Where grading_base() is for the Unix user uid."""
    return Path(tempfile.gettempdir()) / f"mlpcourse-grading-{uid}"


def grading_base():
    """The grader's scratch folder: one per Unix user (an instructor grading on the course's JupyterHub
    is not root), private to them, in a temporary folder everyone can write; one that another user
    made or could change is refused."""
    base = grading_folder(os.getuid())
    base.mkdir(mode=0o700, exist_ok=True)
    st = os.lstat(base)
    if base.is_symlink() or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError(f"{base} is not this user's private folder (a link, another's, or open to "
                              "others): remove it, and the grader makes it anew")
    return base


def scratch_gradebooks_unsynced():
    """A scratch gradebook is deleted with its scratch course: SQLite need not wait for the disk at
    each of nbgrader's commits (about forty a notebook). Only for files under grading_base(); the
    class gradebook is written by the driver, never here. Installed once per process."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _unsynced):
        event.listen(Engine, "connect", _unsynced)


def _unsynced(connection, _record):
    import sqlite3

    if not isinstance(connection, sqlite3.Connection):
        return
    path = connection.execute("PRAGMA database_list").fetchone()[2]
    if path and Path(path).resolve().is_relative_to(grading_base().resolve()):
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA journal_mode = MEMORY")


def quiet_library_warnings():
    """Silence warnings nobody running the grader can act on: SQLAlchemy's about nbgrader's own
    session handling, nbformat's about the injected-parameters cell (it has no id on purpose)."""
    import warnings

    from nbformat.validator import MissingIDFieldWarning
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)


def warm_up(preload, core=None, unsandboxed=False, bwrap="bwrap", shm_mb=0, disk_mb=0):
    """Import nbgrader and start this worker's zygote before the first notebook arrives (on a worker).
    With `core`, the worker (and so its zygote and kernels) keeps to that CPU: a notebook's kernel and
    the worker that drives it take turns on one core instead of being interrupted by the other pair."""
    if core is not None and hasattr(os, "sched_setaffinity"):
        for thread in os.listdir("/proc/self/task"):
            try:
                os.sched_setaffinity(int(thread), {core})
            except OSError:
                pass
    import nbgrader.apps.api  # noqa: F401

    quiet_library_warnings()
    scratch_gradebooks_unsynced()
    nbformat.validate(nbformat.v4.new_notebook())  # loads jsonschema's validators once
    if preload:
        from .zygote import shared_zygote

        shared_zygote(str(grading_base()), unsandboxed, bwrap, shm_mb, disk_mb)
    return os.getpid()


def with_reason(auto, reason):
    """A test cell's comment: nbgrader's own, followed by the reason the notebook failed, if any."""
    if reason:
        return f"{auto} {reason}".strip() if auto else reason
    return auto


def _feedback(scratch, student, notebook, result):
    """nbgrader's feedback HTML of this notebook, made in its scratch course (on the worker)."""
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    if result["reason"]:  # the same comments as record() writes into the class gradebook
        with Gradebook(f"sqlite:///{scratch}/gradebook.db") as gb:
            nb = gb.find_submission_notebook(notebook, notebook, student)
            for comment in nb.comments:
                comment.auto_comment = with_reason(comment.auto_comment, result["reason"])
            gb.db.commit()
    config = load_config(scratch)
    config.CourseDirectory.root = str(scratch)
    config.CourseDirectory.db_url = f"sqlite:///{scratch}/gradebook.db"
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    outcome = api.generate_feedback(notebook, student, force=True)
    html = scratch / "feedback" / student / notebook / f"{notebook}.html"
    if not outcome.get("success") or not html.exists():
        return None
    return html.read_text()


def grade_task(template, task):
    """Grade one submitted notebook in a scratch course; return its scores (runs on a Dask worker)."""
    start = time.perf_counter()
    student, notebook = task["student"], task["notebook"]
    result = {"student": student, "notebook": notebook, "extra_files": task.get("extra_files", [])}
    payload = task.get("payload")
    if payload is None:
        refused = task.get("notebook_refused")  # a link, device, FIFO or hard link: never read (mlpcourse.handin)
        result.update(zero_scores(template, notebook, "refused" if refused else "missing",
                                  refused or f"{notebook}.ipynb was not submitted"))
        result["seconds"] = time.perf_counter() - start
        return result
    try:
        nb = nbformat.reads(payload.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same to the student
        result.update(zero_scores(template, notebook, "invalid",
                            f"{notebook}.ipynb is not a valid notebook ({type(exc).__name__}); "
                            "open it in JupyterLab, save it, and submit again"))
        result["seconds"] = time.perf_counter() - start
        return result
    base = grading_base()
    scratch_gradebooks_unsynced()
    zygote = None
    if template["limits"].get("preload"):
        from .zygote import shared_zygote

        limits = template["limits"]
        zygote = shared_zygote(str(base), limits.get("unsandboxed", False), limits.get("bwrap", "bwrap"),
                               limits.get("shm_limit_mb", 0), limits.get("disk_limit_mb", 0))
        zygote.names_file(template["names"])
        template = {**template, "zygote": zygote}
    failures = []
    try:
        graded = _attempts(base, task, template, failures)
        if zygote is not None:
            # the zygote that forked this notebook's kernel must still be sound (alive, answering, not
            # stopped or traced); if not, it is replaced, and this notebook, the only one it served
            # since its last check, is graded again from a kernel started from scratch
            problem = zygote.problem()
            if problem:
                from .zygote import replace_zygote

                replace_zygote()
                result["zygote_replaced"] = problem
                graded = _attempts(base, task, {k: v for k, v in template.items() if k != "zygote"}, failures)
        result.update(graded or zero_scores(template, notebook, "error",
                                            "nbgrader could not grade this notebook: " + failures[-1]))
        return result
    finally:
        result["nbgrader_failures"] = failures  # what made nbgrader fail, attempt by attempt
        result["seconds"] = time.perf_counter() - start


def _attempts(base, task, template, failures):
    """nbgrader's autograde of the task, tried ATTEMPTS times; its results, or None (causes in failures)."""
    student, notebook = task["student"], task["notebook"]
    for _attempt in range(ATTEMPTS):
        scratch = _scratch(base, task, template)
        try:
            outcome = _autograde(scratch, student, notebook, template)
            autograded = scratch / "autograded" / student / notebook / f"{notebook}.ipynb"
            if outcome.get("success") and autograded.exists():
                return _graded(scratch, student, notebook, autograded, template, task.get("refused", []))
            # nbgrader's "error" is only its closing NbGraderException; the cause is in its log
            failures.append(_failure_line(outcome.get("log") or outcome.get("error") or ""))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return None


# nbgrader itself failing (the student's errors are recorded in the notebook, not raised) is
# tried again once, in a fresh scratch course, and each attempt's cause is kept. Not Dask's
# retries=: it re-runs only a task that raises, and the causes would be lost.
ATTEMPTS = 2


def _scratch(base, task, template):
    """A scratch course for one task: config, gradebook template, read-only data, the submission."""
    student, notebook = task["student"], task["notebook"]
    scratch = Path(tempfile.mkdtemp(prefix=f"{student}-{notebook}-", dir=base))
    write_config_files(scratch, template["config"])
    (scratch / "gradebook.db").write_bytes(template["gradebook"])
    data = scratch / "data" / "names.txt"
    data.parent.mkdir()
    data.write_bytes(template["names"])
    data.chmod(0o444)
    for sub in ("home", "home/runtime"):
        (scratch / sub).mkdir()
    source = scratch / "source" / notebook  # nbgrader copies its makemore.py over the student's
    source.mkdir(parents=True)
    (source / LIBRARY).write_bytes(template["libraries"][notebook])
    sub = scratch / "submitted" / student / notebook
    sub.mkdir(parents=True)
    (sub / f"{notebook}.ipynb").write_bytes(task["payload"])
    for fname, content in task.get("files", {}).items():
        (sub / fname).write_bytes(content)
    if task.get("timestamp"):
        (sub / "timestamp.txt").write_text(task["timestamp"])
    if task.get("duedate"):  # the class's due date: nbgrader's AssignLatePenalties and the feedback see it
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{scratch}/gradebook.db") as gb:
            gb.update_or_create_assignment(notebook, duedate=task["duedate"])
    return scratch


def _graded(scratch, student, notebook, autograded, template, refused=()):
    """Scores, timing, the autograded notebook, its first failure (after the files refused, if any)
    and (if asked) its feedback page."""
    out = _read_scores(scratch, student, notebook)
    timing = scratch / "timing.json"
    out["timing"] = json.loads(timing.read_text()) if timing.exists() else {}
    out["autograded"] = autograded.read_text()
    out["status"], out["reason"] = _diagnose(out["autograded"])
    if refused:
        out["status"] = "refused" if out["status"] == "ok" else out["status"]
        out["reason"] = "; ".join([*refused, out["reason"]] if out["reason"] else refused)
    if template.get("feedback"):
        begin = time.perf_counter()
        out["feedback"] = _feedback(scratch, student, notebook, out)
        out["timing"]["feedback"] = time.perf_counter() - begin
    return out


def _failure_line(log):
    """The line of nbgrader's log that names what went wrong (not its closing NbGraderException)."""
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    named = [line for line in lines if re.match(r"^[\w.]*(Error|Exception|Exit)\b", line)
             and "NbGraderException" not in line]
    return (named or lines or ["no log"])[-1][:300]


def _read_scores(course, student, notebook):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        nb = gb.find_submission_notebook(notebook, notebook, student)
        grades = {g.name: {"auto_score": g.auto_score, "max_score": g.max_score,
                           "needs_manual_grade": bool(g.needs_manual_grade),
                           "kind": "test" if g.cell_type == "code" else "manual"} for g in nb.grades}
        comments = {c.name: c.auto_comment for c in nb.comments}
        penalty = nb.late_submission_penalty
    return {"grades": grades, "comments": comments, "late_penalty": penalty}
