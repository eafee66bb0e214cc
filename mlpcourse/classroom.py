# Grades a whole class: collects the submissions, sends one task per notebook to Dask, writes the results.
# The only writer of the gradebook, autograded/ and feedback/; never runs a student's code in this process.
"""Grade a whole class: every submission under submitted/, each notebook isolated, in parallel.

    python -m mlpcourse grade [--assignment 03_training …] [--scheduler tcp://HOST:8786] [--workers N] [--student ID …]

Every section is its own nbgrader assignment: submitted/<student>/<section>/<section>.ipynb.

nbgrader does the grading (``nbgrader autograde`` with the course's config: OverwriteCells,
checksums, SafeExecute); this adds what it lacks for a class:

- isolation: each (student, section) is graded by its own ``nbgrader autograde`` in a scratch
  course (a copy of the gradebook template, the config, the section's makemore.py, a verified
  copy of the data), its kernel shut in by bubblewrap (mlpcourse.sandbox: it sees none of the
  course), under a memory cap and a wall-time limit;
- nothing lost: a timeout, a dead kernel, an invalid or missing notebook fails only that
  notebook, with a reason a student can read; every other notebook is graded in full;
- parallelism on Dask distributed: a LocalCluster (one worker per core) by default, or any
  cluster through its scheduler address; workers return scores, and this process alone
  writes them to the gradebook (SQLite, or PostgreSQL through ``CourseDirectory.db_url``);
- feedback made where the notebook was graded: each worker runs nbgrader's generate_feedback
  in its scratch course and returns the page, which this process writes to feedback/.
  Points given by hand later (written answers) reach the feedback when the instructor runs
  ``nbgrader generate_feedback`` after grading them.

Where each part lives: this driver (tasks, Dask, the gradebook writer, the CLI);
mlpcourse.grade_notebook (one notebook on a worker); mlpcourse.sandbox (how its kernel is shut
in); mlpcourse.zygote (kernels forked from a preloaded process); mlpcourse.class_reports (CSV,
table, reasons).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from traitlets import Bool, Dict, Integer, Unicode
from traitlets.config import Configurable

from .assignments import generate, scratch_course
from .class_reports import export_csv, print_report, write_reasons
from .course import (COURSE_ROOT, CONFIG_FILES, LIBRARY, config_files, graded_cells, load_config, nbgrader_meta,
                     sections)
from .data import NAMES_SHA256, names_path, sha256
from .handin import Refused, open_folder, read_file
from .handin import names as handin_names
from .handin import refusal as handin_refusal
from .sandbox import UNSANDBOXED_HELP, SandboxedKernelManager, bwrap_problem, landlock_problem
from .grade_notebook import grade_task, quiet_library_warnings, warm_up, with_reason, zero_scores

class GradeClass(Configurable):
    """Limits and engine of `python -m mlpcourse grade` (set them in nbgrader_config.py)."""

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
            "names": path.read_bytes(), "notebooks": names, "cells": cells, "limits": limits}


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
    `handed_in` ({section: [file names]}) are files that go with a notebook; others are extras.
    Files are read as data (mlpcourse.handin): a link, device, FIFO or hard link is refused, never
    read, and its reason goes with the task ("refused"; the notebook's in "notebook_refused")."""
    handed_in = handed_in or {}
    tasks = []
    root = Path(course_root) / "submitted"
    for folder in sorted(p for p in root.glob("*") if p.is_dir() or p.is_symlink()):
        student = folder.name
        if students and student not in students:
            continue
        for name in notebooks:
            refused, entries, fd = [], [], None
            try:
                fd = open_folder(root, student, name)
                entries = handin_names(fd)
            except FileNotFoundError:
                pass
            except Refused as exc:
                refused.append(str(exc))
            reasons = {}

            def take(fname):
                if fname not in entries:
                    return None
                try:
                    return read_file(fd, fname)
                except Refused as exc:
                    refused.append(str(exc))
                    reasons[fname] = str(exc)
                    return None
            try:
                # the released makemore.py comes back too; `nbgrader collect` adds the last two
                expected = {f"{name}.ipynb", LIBRARY, *handed_in.get(name, []), *COLLECTED_FILES,
                            "names.txt"}  # the data, put there by older instructions: never read, not flagged
                extra = sorted(e for e in entries if e not in expected)
                read = {f"{name}.ipynb", *handed_in.get(name, []), *COLLECTED_FILES}  # take() reports these
                refused += [why for e in entries if e not in read and (why := handin_refusal(fd, e))]  # never read
                collected = {f: v.decode("utf-8", "replace") for f in COLLECTED_FILES if (v := take(f)) is not None}
                payload = take(f"{name}.ipynb")
                files = {f: v for f in handed_in.get(name, []) if (v := take(f)) is not None}
            finally:
                if fd is not None:
                    os.close(fd)
            notebook_refused = "; ".join(refused) if f"{name}.ipynb" in reasons or (refused and fd is None) else ""
            tasks.append({"student": student, "notebook": name, "timestamp": collected.get("timestamp.txt"),
                          "collected": collected, "extra_files": extra, "refused": refused,
                          "notebook_refused": notebook_refused, "payload": payload, "files": files})
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


def _answer_sources(text):
    """{grade_id: source} of the answer cells of an autograded notebook (its text), or {}."""
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable earlier notebook is one whose answers all changed
        return {}
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
            if nbgrader_meta(c).get("solution") and nbgrader_meta(c).get("grade_id")}


def keeps_manual_grade(grade, before, after):
    """Does a grade given by hand still apply after a regrade? A written answer keeps it when its
    own text did not change; a test cell's (an instructor's override) when no answer changed.
    Otherwise it stays, flagged for review, as nbgrader's SaveAutoGrades flags every one."""
    if not before:
        return False
    if grade.cell_type == "markdown" or grade.name in after:
        return before.get(grade.name) == after.get(grade.name)
    return before == after


def due_dates(db_url, tasks):
    """{(student, section): the due date that applies (the section's, plus the student's extension)}
    from the class gradebook, for nbgrader's late-submission machinery on the workers."""
    from nbgrader.api import Gradebook, MissingEntry

    due = {}
    with Gradebook(db_url) as gb:
        for t in tasks:
            try:
                assignment = gb.find_assignment(t["notebook"])
            except MissingEntry:
                continue
            try:
                date = gb.find_submission(t["notebook"], t["student"]).duedate
            except MissingEntry:
                date = assignment.duedate
            due[(t["student"], t["notebook"])] = date.isoformat() if date else None
    return due


def record(gb, result, course_root, feedback=False):
    """Write one worker result into the gradebook, autograded/ and, with `feedback`, feedback/
    (only the driver calls this). Grades given by hand survive when what they graded did not
    change; the late penalty is the one nbgrader's AssignLatePenalties gave on the worker."""
    from nbgrader.api import MissingEntry

    student, notebook = result["student"], result["notebook"]
    try:
        gb.find_student(student)
    except MissingEntry:
        gb.add_student(student)
    kwargs = {"timestamp": result.get("timestamp")} if result.get("timestamp") else {}
    submission = gb.update_or_create_submission(notebook, student, **kwargs)
    nb = gb.find_submission_notebook(notebook, notebook, student)
    root = Path(course_root)
    previous = root / "autograded" / student / notebook / f"{notebook}.ipynb"
    before = _answer_sources(previous.read_text()) if previous.is_file() else {}
    after = _answer_sources(result["autograded"]) if result.get("autograded") else {}
    for grade in nb.grades:
        got = result["grades"].get(grade.name, {})
        grade.auto_score = got.get("auto_score")
        grade.needs_manual_grade = got.get("needs_manual_grade", False)
        if grade.manual_score is not None:
            grade.needs_manual_grade = not keeps_manual_grade(grade, before, after)
        if not result.get("autograded"):  # not graded at all: nothing was earned, nothing to grade by hand
            grade.auto_score, grade.needs_manual_grade = (0.0 if grade.cell_type == "code" else None), False
    for comment in nb.comments:
        comment.auto_comment = with_reason(result.get("comments", {}).get(comment.name), result["reason"])
    nb.late_submission_penalty = result.get("late_penalty") or None
    gb.db.commit()
    result["seconds_late"] = submission.total_seconds_late
    outputs = [(previous, result.get("autograded"))]
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
                feedback=True, progress=True, out=sys.stdout, preload=None, assignments=None, figures=None,
                unsandboxed=None):
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
    # the time limits are SafeExecute's (nbgrader_config.py), the same as for nbgrader autograde
    kernels = SandboxedKernelManager(config=config)
    unsandboxed = kernels.unsandboxed if unsandboxed is None else unsandboxed
    problem = bwrap_problem(kernels.bwrap)
    if problem and not unsandboxed:
        raise RuntimeError(f"{problem}: {UNSANDBOXED_HELP}")
    if not problem and landlock_problem(kernels.landlock_required):
        raise RuntimeError(landlock_problem())
    limits = {"memory_limit_mb": kernels.memory_limit_mb, "file_limit_mb": kernels.file_limit_mb,
              "shm_limit_mb": kernels.shm_limit_mb, "disk_limit_mb": kernels.disk_limit_mb, "unsandboxed": bool(problem), "bwrap": kernels.bwrap,
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
                                 limits["unsandboxed"], limits["bwrap"], limits["shm_limit_mb"], limits["disk_limit_mb"],
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
        due = due_dates(db_url, tasks)
        for t in tasks:
            t["duedate"] = due.get((t["student"], t["notebook"]))
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
                              **zero_scores(template, task["notebook"], "error", f"the grading worker failed: {exc}")}
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
        write_reasons(course_root, results)
    seconds = time.perf_counter() - t0
    phases["finished"] = seconds
    after = course_fingerprint(course_root)
    changed = sorted(k for k in before if before[k] != after.get(k))
    report = {"results": sorted(results, key=lambda r: (r["student"], r["notebook"])), "seconds": seconds,
              "changed_files": changed, "db_url": db_url, "unsandboxed": problem if limits["unsandboxed"] else None,
              "phases": {k: round(v, 1) for k, v in phases.items()}}
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mlpcourse grade", description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="Dask scheduler address (default: a local cluster)")
    parser.add_argument("--workers", type=int, help="local workers (default: one per core)")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--assignment", action="append",
                        help="grade only this section, e.g. 03_training (repeatable; default: every section submitted)")
    parser.add_argument("--db-url", help="gradebook URL (default: CourseDirectory.db_url)")
    parser.add_argument("--unsandboxed", action="store_true", default=None,
                        help="grade even where bubblewrap cannot run (kernels can then read and change "
                             "anything this user can); the report says so")
    parser.add_argument("--course", default=str(COURSE_ROOT),
                        help="the course directory (default: this repository; on the course's JupyterHub, "
                             "the instructor's copy)")
    parser.add_argument("--csv", help="where to export grades (default: build/grades.csv in the course directory)")
    args = parser.parse_args(argv)
    args.csv = args.csv or str(Path(args.course) / "build" / "grades.csv")
    report = grade_class(Path(args.course).absolute(), args.student, args.scheduler, args.workers, args.db_url,
                         assignments=args.assignment, unsandboxed=args.unsandboxed)
    export_csv(report, args.csv)
    print_report(report)
    print(f"grades: {args.csv}; feedback: feedback/")
    return 1 if report["changed_files"] else 0
