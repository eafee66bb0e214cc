"""Grade a whole class: every submission under submitted/, each notebook isolated, in parallel.

    python -m mlpcourse grade [--assignment 03_training …] [--scheduler tcp://HOST:8786] [--workers N] [--student ID …]

Every section is its own nbgrader assignment: submitted/<student>/<section>/<section>.ipynb.

nbgrader does the grading (``nbgrader autograde`` with the course's config: OverwriteCells,
checksums, SafeExecute); this adds what it lacks for a class:

- isolation: each (student, section) is graded by its own ``nbgrader autograde`` in a scratch
  course (a copy of the gradebook template, the config, the section's makemore.py, a verified
  copy of the data), its kernel shut in a mount namespace, under a memory cap and a wall-time limit;
- nothing lost: a timeout, a dead kernel, an invalid or missing notebook fails only that
  notebook, with a reason a student can read; every other notebook is graded in full;
- parallelism on Dask distributed: a LocalCluster (one worker per core) by default, or any
  cluster through its scheduler address; workers return scores, and this process alone
  writes them to the gradebook (SQLite, or PostgreSQL through ``CourseDirectory.db_url``);
- feedback made where the notebook was graded: each worker runs nbgrader's generate_feedback
  in its scratch course and returns the page, which this process writes to feedback/.
  Points given by hand later (written answers) reach the feedback when the instructor runs
  ``nbgrader generate_feedback`` after grading them.
"""
from __future__ import annotations

import argparse
import json
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from traitlets import Bool, Dict, Integer, Unicode
from traitlets.config import Configurable

from .assignments import generate
from .check import scratch_course
from .course import (COURSE_ROOT, CONFIG_FILES, LIBRARY, config_files, graded_cells, load_config, nbgrader_meta,
                     sections, write_config_files)
from .data import NAMES_SHA256, names_path, sha256
from .grading import KERNEL_DIED, NOTEBOOK_TIMEOUT
from .notebooks import INLINE_BACKEND, NUMERIC_PINS, environ
from .zygote import _MOUNTS



class GradeClass(Configurable):
    """Limits and engine of `python -m mlpcourse grade` (set them in nbgrader_config.py)."""

    cell_timeout = Integer(60, help="Seconds a cell may run before it is interrupted.").tag(config=True)
    notebook_timeout = Integer(600, help="Seconds one notebook's grading may take in all.").tag(config=True)
    memory_limit_mb = Integer(4096, help="Address-space cap (MiB) of a grading process and its kernel.").tag(config=True)
    workers = Integer(0, help="Workers of the local Dask cluster; 0 means one per core.").tag(config=True)
    scheduler = Unicode("", help="Address of a Dask scheduler; empty: start a LocalCluster.").tag(config=True)
    preload = Bool(True, help="Fork each grading kernel from a per-worker process that has already imported "
                              "torch and matplotlib (mlpcourse.zygote), instead of starting Python anew.").tag(config=True)
    pin_workers = Bool(True, help="On a local cluster with no more workers than cores, keep each worker, its "
                                  "zygote and its kernels to one core.").tag(config=True)
    figures = Bool(True, help="Draw figures inline, into the autograded notebook and the feedback (False: the "
                              "Agg backend, no figure kept; see `python -m mlpcourse benchmark --figures`).").tag(config=True)
    handed_in = Dict({}, help="Files students hand in next to a notebook: {notebook: [file names]}; "
                              "any other file is ignored and reported.").tag(config=True)


# --- the worker side: one (student, notebook), fully isolated -------------------------------

# The same mounts as a zygote's fork (mlpcourse.zygote), then the kernel command in that folder.
_SANDBOX = 'here="$PWD"\n' + _MOUNTS + 'cd "$here"\nexec "$@"\n'
_sandbox_mode = None


def sandbox_mode():
    """How grading processes are shut in: 'root' or 'user' mount namespace, or None if neither works."""
    global _sandbox_mode
    if _sandbox_mode is None:
        _sandbox_mode = ""
        for mode, flags in (("root", []), ("user", ["-r"])):
            if mode == "root" and os.geteuid() != 0:
                continue
            probe = subprocess.run(["unshare", *flags, "--mount", "--propagation", "private", "sh", "-c",
                                    "mount -t tmpfs tmpfs /mnt && umount /mnt"], capture_output=True)
            if probe.returncode == 0:
                _sandbox_mode = mode
                break
    return _sandbox_mode or None


def _readonly_paths(extra=()):
    """Everything a submission could reach and must not change: the course, Python, the packages."""
    import mlpcourse

    paths = {*(Path(p).resolve() for p in extra), Path(mlpcourse.__file__).resolve().parent.parent, Path(sys.prefix).resolve(),
             Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    return sorted(str(p) for p in paths if p.exists() and " " not in str(p))


def sandboxed(cmd, scratch, base, readonly=()):
    """cmd wrapped so that it sees only its own scratch course and cannot write anything else."""
    mode = sandbox_mode()
    if not mode:
        return cmd, {}
    flags = ["-r"] if mode == "user" else []
    env = {"SCRATCH": str(scratch), "BASE": str(base), "READONLY": " ".join(_readonly_paths(readonly))}
    return ["unshare", *flags, "--mount", "--propagation", "private", "sh", "-c", _SANDBOX, "sandbox", *cmd], env


def _zero(template, notebook, status, reason):
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
    return "ok", ""


def _kernelspec(scratch, template):
    """A kernelspec whose kernel runs shut in (sandbox), under the memory cap, with the scratch data."""
    limits = template["limits"]
    home = scratch / "home"
    backend = INLINE_BACKEND if limits.get("figures", True) else "Agg"
    env = {"HOME": str(home), "MPLCONFIGDIR": str(home / ".mpl"), "MPLBACKEND": backend,
           "MAKEMORE_NAMES": str(scratch / "data" / "names.txt"), **NUMERIC_PINS,
           "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    mode = sandbox_mode()
    if template.get("zygote") and mode in ("root", None):
        # forked from this worker's zygote, which shuts the fork in the same way (mlpcourse.zygote)
        from . import zygote

        # the launcher runs as a plain script (-S, by path): it must not import torch itself
        argv = [sys.executable, "-S", str(Path(zygote.__file__).resolve()), "launch", "{connection_file}"]
        env.update({"MLPCOURSE_ZYGOTE": template["zygote"], "MLPCOURSE_SANDBOX": mode or "",
                    "MLPCOURSE_MEMORY_MB": str(limits["memory_limit_mb"] or 0), "SCRATCH": str(scratch),
                    "BASE": str(scratch.parent), "READONLY": " ".join(_readonly_paths(template.get("readonly", ())))})
    else:
        python = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.log_level=ERROR"]
        memory = ["sh", "-c", 'ulimit -c 0; ulimit -v "$1"; shift; exec "$@"', "limit",
                  str(limits["memory_limit_mb"] * 1024)] if limits["memory_limit_mb"] else []
        argv, sandbox_env = sandboxed(memory + python, scratch, scratch.parent, template.get("readonly", ()))
        env.update(sandbox_env)
    spec = {"argv": argv, "display_name": "Python 3 (graded)", "language": "python", "env": env}
    folder = scratch / "jupyter" / "kernels" / GRADING_KERNEL
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return scratch / "jupyter"


GRADING_KERNEL = "mlpcourse-graded"


def _autograde(scratch, student, notebook, template):
    """nbgrader's autograde of one student in a scratch course, in this process (kernels shut in)."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    limits = template["limits"]
    config = load_config(scratch)
    config.CourseDirectory.root = str(scratch)
    config.CourseDirectory.db_url = f"sqlite:///{scratch}/gradebook.db"
    config.SafeExecute.timeout = limits["cell_timeout"]
    config.SafeExecute.notebook_timeout = limits["notebook_timeout"]
    config.SafeExecute.kernel_name = GRADING_KERNEL
    with environ(JUPYTER_PATH=_kernelspec(scratch, template), JUPYTER_RUNTIME_DIR=scratch / "home" / "runtime",
                 MLPCOURSE_TIMING_FILE=scratch / "timing.json"):
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        return api.autograde(notebook, student, force=True, create=True)


def _grading_base():
    base = Path(tempfile.gettempdir()) / "mlpcourse-grading"
    base.mkdir(exist_ok=True)
    return base


def quiet_library_warnings():
    """Silence warnings nobody running the grader can act on: SQLAlchemy's about nbgrader's own
    session handling, nbformat's about the injected-parameters cell (it has no id on purpose)."""
    import warnings

    from nbformat.validator import MissingIDFieldWarning
    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)


def warm_up(preload, core=None):
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
    nbformat.validate(nbformat.v4.new_notebook())  # loads jsonschema's validators once
    if preload and sandbox_mode() in ("root", None):
        from .zygote import shared_zygote

        shared_zygote(str(_grading_base()))
    return os.getpid()


def _comment(auto, reason):
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
                comment.auto_comment = _comment(comment.auto_comment, result["reason"])
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
        result.update(_zero(template, notebook, "missing", f"{notebook}.ipynb was not submitted"))
        result["seconds"] = time.perf_counter() - start
        return result
    try:
        nb = nbformat.reads(payload.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same to the student
        result.update(_zero(template, notebook, "invalid",
                            f"{notebook}.ipynb is not a valid notebook ({type(exc).__name__}); "
                            "open it in JupyterLab, save it, and submit again"))
        result["seconds"] = time.perf_counter() - start
        return result
    base = _grading_base()
    if template["limits"].get("preload"):
        from .zygote import shared_zygote

        template = {**template, "zygote": shared_zygote(str(base)).path}
    failures = []
    try:
        for _attempt in range(ATTEMPTS):
            scratch = _scratch(base, task, template)
            try:
                outcome = _autograde(scratch, student, notebook, template)
                autograded = scratch / "autograded" / student / notebook / f"{notebook}.ipynb"
                if outcome.get("success") and autograded.exists():
                    result.update(_graded(scratch, student, notebook, autograded, template))
                    return result
                # nbgrader's "error" is only its closing NbGraderException; the cause is in its log
                failures.append(_failure_line(outcome.get("log") or outcome.get("error") or ""))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        result.update(_zero(template, notebook, "error", "nbgrader could not grade this notebook: " + failures[-1]))
        return result
    finally:
        result["nbgrader_failures"] = failures  # what made nbgrader fail, attempt by attempt
        result["seconds"] = time.perf_counter() - start


# nbgrader itself failing (the student's errors are recorded in the notebook, not raised) is
# tried again once, in a fresh scratch course: a kernel can lose its ports to a kernel starting
# beside it, since jupyter_client picks free ports before the kernel binds them.
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
    return scratch


def _graded(scratch, student, notebook, autograded, template):
    """Scores, timing, the autograded notebook, its first failure and (if asked) its feedback page."""
    out = _read_scores(scratch, student, notebook)
    timing = scratch / "timing.json"
    out["timing"] = json.loads(timing.read_text()) if timing.exists() else {}
    out["autograded"] = autograded.read_text()
    out["status"], out["reason"] = _diagnose(out["autograded"])
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
    return {"grades": grades, "comments": comments}


# --- the driver: one writer -----------------------------------------------------------------

def build_template(course_root, limits, notebooks=None):
    """What every worker needs, as bytes: config, gradebook of the sections, each section's
    makemore.py, verified data."""
    course_root = Path(course_root)
    names = list(notebooks or sections(course_root))
    with tempfile.TemporaryDirectory() as tmp:
        scratch = scratch_course(names, Path(tmp) / "course", course_root)
        gradebook = (scratch / "gradebook.db").read_bytes()
    cells = {}
    for name in names:
        nb = nbformat.read(course_root / "source" / name / f"{name}.ipynb", as_version=4)
        tests = graded_cells(nb)
        cells[name] = {nbgrader_meta(c)["grade_id"]: ("test" if nbgrader_meta(c)["grade_id"] in tests else "manual",
                                                       float(nbgrader_meta(c).get("points", 0)))
                       for c in nb.cells if nbgrader_meta(c).get("grade")}
    path = names_path()
    if sha256(path) != NAMES_SHA256:
        raise RuntimeError(f"{path} does not match its checksum")
    return {"config": config_files(course_root), "gradebook": gradebook,
            "libraries": {n: (course_root / "source" / n / LIBRARY).read_bytes() for n in names},
            "names": path.read_bytes(), "notebooks": names, "cells": cells, "limits": limits,
            "readonly": [str(course_root.resolve())]}


def submitted_sections(course_root, students=None):
    """The sections that at least one (selected) student has a folder for under submitted/."""
    known = set(sections(course_root))
    found = {p.name for p in (Path(course_root) / "submitted").glob("*/*")
             if p.is_dir() and p.name in known and (not students or p.parent.name in students)}
    return sorted(found)


# what `nbgrader collect` writes beside a submission: when it was submitted, and the secret that
# matches the feedback to it (nbgrader 0.9)
COLLECTED_FILES = ("timestamp.txt", "submission_secret.txt")


def collect_tasks(course_root, notebooks, students=None, handed_in=None):
    """One task per (student, section) found under submitted/<student>/<section>/<section>.ipynb;
    a section a student has no notebook for is a task too (graded 0, 'not submitted').
    `handed_in` ({section: [file names]}) are files that go with a notebook; others are extras."""
    handed_in = handed_in or {}
    tasks = []
    root = Path(course_root) / "submitted"
    for folder in sorted(p for p in root.glob("*") if p.is_dir()):
        student = folder.name
        if students and student not in students:
            continue
        for name in notebooks:
            sub = folder / name
            # the released makemore.py comes back too; `nbgrader collect` adds the last two
            expected = {f"{name}.ipynb", LIBRARY, *handed_in.get(name, []), *COLLECTED_FILES}
            extra = sorted(p.name for p in sub.glob("*") if p.name not in expected) if sub.is_dir() else []
            collected = {f: (sub / f).read_text() for f in COLLECTED_FILES if (sub / f).is_file()}
            path = sub / f"{name}.ipynb"
            files = {f: (sub / f).read_bytes() for f in handed_in.get(name, []) if (sub / f).is_file()}
            tasks.append({"student": student, "notebook": name, "timestamp": collected.get("timestamp.txt"),
                          "collected": collected, "extra_files": extra,
                          "payload": path.read_bytes() if path.is_file() else None, "files": files})
    return tasks


def course_fingerprint(course_root):
    """sha256 of every course file a submission must not change (source, release, config, data, package)."""
    root = Path(course_root)
    paths = [root / name for name in CONFIG_FILES] + [root / "data" / "names.txt"]
    for folder in ("source", "release", "mlpcourse"):
        paths += [p for p in sorted((root / folder).rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    return {str(p.relative_to(root)): sha256(p) for p in paths if p.exists()}


def ensure_assignments(course_root, db_url, notebooks, template=None):
    """Make sure the gradebook knows every section graded (generate_assignment writes the missing
    ones, into a scratch release folder). A SQLite gradebook that does not exist yet is the
    template's gradebook, copied."""
    from nbgrader.api import Gradebook, MissingEntry

    if template is not None and db_url.startswith("sqlite:///"):
        path = Path(db_url[len("sqlite:///"):])
        if not path.exists() or path.stat().st_size == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(template["gradebook"])
            return
    missing = []
    with Gradebook(db_url) as gb:
        for name in notebooks:
            try:
                if gb.find_assignment(name).notebooks:
                    continue
            except MissingEntry:
                pass
            missing.append(name)
    if missing:
        with tempfile.TemporaryDirectory() as tmp:
            generate(course_root, missing, release_dir=tmp, db_url=db_url)


def record(gb, result, course_root, feedback=False):
    """Write one worker result into the gradebook, autograded/ and, with `feedback`, feedback/
    (only the driver calls this)."""
    from nbgrader.api import MissingEntry

    student, notebook = result["student"], result["notebook"]
    try:
        gb.find_student(student)
    except MissingEntry:
        gb.add_student(student)
    kwargs = {"timestamp": result.get("timestamp")} if result.get("timestamp") else {}
    gb.update_or_create_submission(notebook, student, **kwargs)
    nb = gb.find_submission_notebook(notebook, notebook, student)
    for grade in nb.grades:
        got = result["grades"].get(grade.name, {})
        grade.auto_score = got.get("auto_score")
        grade.needs_manual_grade = got.get("needs_manual_grade", False)
        if not result.get("autograded"):  # not graded at all: nothing was earned, nothing to grade by hand
            grade.auto_score, grade.needs_manual_grade = (0.0 if grade.cell_type == "code" else None), False
    for comment in nb.comments:
        comment.auto_comment = _comment(result.get("comments", {}).get(comment.name), result["reason"])
    gb.db.commit()
    root = Path(course_root)
    outputs = [(root / "autograded" / student / notebook / f"{notebook}.ipynb", result.get("autograded"))]
    if feedback:
        outputs.append((root / "feedback" / student / notebook / f"{notebook}.html", result.get("feedback")))
    for target, text in outputs:
        if text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        elif target.exists():
            target.unlink()
        # beside them, what `nbgrader collect` wrote (as stock autograde and generate_feedback copy
        # it): `nbgrader release_feedback` needs the timestamp and the submission's secret
        for fname in COLLECTED_FILES:
            copy = target.with_name(fname)
            if text and fname in result.get("collected", {}):
                copy.write_text(result["collected"][fname])
            elif copy.exists():
                copy.unlink()


def _venv_on_path():
    """nbgrader runs `alembic` to create a new gradebook: find it next to this Python."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _client(scheduler, workers):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address="127.0.0.1:0", silence_logs=40)  # its HTTP server: loopback, any free port
    return Client(cluster), cluster


def grade_class(course_root=COURSE_ROOT, students=None, scheduler=None, workers=None, db_url=None,
                feedback=True, progress=True, out=sys.stdout, preload=None, assignments=None, figures=None):
    """Grade every submission of the class (of `assignments`, default: every section somebody
    submitted); return {"results": [...], "seconds": …, "changed_files": …}."""
    from dask.distributed import as_completed
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    quiet_library_warnings()
    course_root = Path(course_root)
    config = load_config(course_root)
    settings = GradeClass(config=config)
    db_url = db_url or config.CourseDirectory.get("db_url") or f"sqlite:///{course_root}/gradebook.db"
    limits = {"cell_timeout": settings.cell_timeout, "notebook_timeout": settings.notebook_timeout,
              "memory_limit_mb": settings.memory_limit_mb,
              "preload": settings.preload if preload is None else preload,
              "figures": settings.figures if figures is None else figures}
    before = course_fingerprint(course_root)
    t0 = time.perf_counter()
    _venv_on_path()
    phases = {}
    with ThreadPoolExecutor(1) as setup:  # the template (an nbgrader subprocess) is built while the cluster starts
        notebooks = list(assignments or submitted_sections(course_root, students) or sections(course_root))
        pending = setup.submit(build_template, course_root, limits, notebooks)
        client, cluster = _client(scheduler or settings.scheduler,
                                  workers if workers is not None else settings.workers)
        phases["cluster_started"] = time.perf_counter() - t0
        # the workers import nbgrader and start their zygotes while the template is finished
        cores = sorted(os.sched_getaffinity(0)) if cluster is not None and hasattr(os, "sched_getaffinity") else []
        addresses = sorted(client.scheduler_info()["workers"])
        warming = [client.submit(warm_up, limits["preload"],
                                 cores[i] if settings.pin_workers and len(addresses) == len(cores) else None,
                                 workers=[w], allow_other_workers=False, pure=False, key=f"warm-up-{w}")
                   for i, w in enumerate(addresses)]
        try:
            template = pending.result()
        except BaseException:
            client.close()
            if cluster is not None:
                cluster.close()
            raise
    results = []
    try:
        template["feedback"] = feedback
        tasks = collect_tasks(course_root, template["notebooks"], students, dict(settings.handed_in))
        # the later sections train longest: grade them first, so that the last tasks are short ones
        rank = {name: i for i, name in enumerate(template["notebooks"])}
        tasks.sort(key=lambda t: (-rank[t["notebook"]], t["student"]))
        ensure_assignments(course_root, db_url, template["notebooks"], template)
        shared = client.scatter(template, broadcast=True)
        futures = [client.submit(grade_task, shared, t, pure=False, key=f"grade-{t['student']}-{t['notebook']}-{i}")
                   for i, t in enumerate(tasks)]
        position = {f.key: i for i, f in enumerate(futures)}
        phases["grading_started"] = time.perf_counter() - t0
        bar = tqdm(total=len(tasks), desc="grading", unit="notebook", disable=not progress, file=sys.stderr)
        with Gradebook(db_url) as gb:
            for future in as_completed(futures):
                task = tasks[position[future.key]]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker lost is one notebook lost, not the class
                    result = {"student": task["student"], "notebook": task["notebook"], "seconds": 0.0,
                              "extra_files": task["extra_files"],
                              **_zero(template, task["notebook"], "error", f"the grading worker failed: {exc}")}
                result["timestamp"], result["collected"] = task.get("timestamp"), task.get("collected", {})
                record(gb, result, course_root, feedback)
                results.append(result)
                bar.update(1)
        bar.close()
        phases["grading_done"] = time.perf_counter() - t0
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if feedback:
        _write_reasons(course_root, results)
    seconds = time.perf_counter() - t0
    phases["finished"] = seconds
    after = course_fingerprint(course_root)
    changed = sorted(k for k in before if before[k] != after.get(k))
    report = {"results": sorted(results, key=lambda r: (r["student"], r["notebook"])), "seconds": seconds,
              "changed_files": changed, "db_url": db_url,
              "phases": {k: round(v, 1) for k, v in phases.items()}}
    return report


def _write_reasons(course_root, results):
    """feedback/<student>/<section>/grading_report.txt for every notebook that failed or came with
    files that are not part of the assignment."""
    for r in results:
        folder = Path(course_root) / "feedback" / r["student"] / r["notebook"]
        if r["status"] == "ok" and not r.get("extra_files"):
            (folder / "grading_report.txt").unlink(missing_ok=True)  # the report of an earlier grading
            continue
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"{r['notebook']}: {r['reason']}"] if r["status"] != "ok" else []
        if r.get("extra_files"):
            lines.append(f"ignored files that are not part of the assignment: {', '.join(r['extra_files'])}")
        (folder / "grading_report.txt").write_text("\n".join(lines) + "\n")


def scores_of(report):
    """{(student, notebook): automatic points} of a report."""
    return {(r["student"], r["notebook"]): sum((g["auto_score"] or 0.0) for g in r["grades"].values())
            for r in report["results"]}


def export_csv(report, path):
    """One row per (student, section): automatic points and their maximum, the maximum of the
    written answers (graded by hand later, in formgrader), status and reason."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "notebook", "auto_score", "auto_max", "written_max", "status", "reason"])
        for r in report["results"]:
            tests = [g for g in r["grades"].values() if g["kind"] == "test"]
            written = [g for g in r["grades"].values() if g["kind"] != "test"]
            w.writerow([r["student"], r["notebook"], sum(g["auto_score"] or 0.0 for g in tests),
                        sum(g["max_score"] for g in tests), sum(g["max_score"] for g in written),
                        r["status"], r["reason"]])
    return path


def print_report(report, out=sys.stdout):
    results = report["results"]
    students = sorted({r["student"] for r in results})
    notebooks = sorted({r["notebook"] for r in results})
    score = scores_of(report)
    width = max(8, *(len(s) for s in students))
    print(f"{'student':{width}s} " + " ".join(f"{n[:2]:>6s}" for n in notebooks) + "   total", file=out)
    for s in students:
        row = [score.get((s, n), 0.0) for n in notebooks]
        print(f"{s:{width}s} " + " ".join(f"{v:6.1f}" for v in row) + f"  {sum(row):6.1f}", file=out)
    failures = [r for r in results if r["status"] != "ok"]
    extras = sorted({(r["student"], f) for r in results for f in r.get("extra_files", [])})
    print(f"\n{len(results)} notebooks of {len(students)} students graded in {report['seconds']:.1f} s; "
          f"{len(failures)} failures", file=out)
    for r in failures:
        print(f"  {r['student']}/{r['notebook']}: {r['status']}: {r['reason']}", file=out)
    for student, name in extras:
        print(f"  {student}: ignored extra file {name}", file=out)
    if report["changed_files"]:
        print(f"WARNING: course files changed during grading: {report['changed_files']}", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mlpcourse grade", description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="Dask scheduler address (default: a local cluster)")
    parser.add_argument("--workers", type=int, help="local workers (default: one per core)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--assignment", action="append",
                        help="grade only this section, e.g. 03_training (repeatable; default: every section submitted)")
    parser.add_argument("--db-url", help="gradebook URL (default: CourseDirectory.db_url)")
    parser.add_argument("--csv", default=str(COURSE_ROOT / "build" / "grades.csv"), help="where to export grades")
    args = parser.parse_args(argv)
    report = grade_class(COURSE_ROOT, args.student, args.scheduler, args.workers, args.db_url,
                         assignments=args.assignment)
    export_csv(report, args.csv)
    print_report(report)
    print(f"grades: {args.csv}; feedback: feedback/")
    return 1 if report["changed_files"] else 0
