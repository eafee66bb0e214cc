"""Measurements: the two commands on a fresh clone, and class grading on Dask.

    python -m mlpcourse benchmark --commands   # `.ci/run` and `make all`, each in a fresh clone of HEAD
    python -m mlpcourse benchmark [--students 100] [--speedup-students 10] [--stock-students 10] [--compare-preload]
    python -m mlpcourse benchmark --catalogue   # every section's catalogue against its 15 s a submission
    python -m mlpcourse benchmark --figures [--students 10]   # what figures in graded notebooks cost
    python -m mlpcourse benchmark --report     # docs/benchmarks.md from build/benchmark.json

Each run updates its own part of build/benchmark.json (with the machine it ran on) and rewrites
docs/benchmarks.md from the whole file.

The commands: `git clone` of the committed HEAD into a temporary folder (with the `shared/`
folder beside the repository linked beside the clone, where the Makefile finds names.txt), then
the command, install included, timed from start to exit; afterwards `git status --porcelain`
of the clone must be empty. Each command gets its own clone.

The class mixes perfect submissions, partly wrong ones (a catalogued mistake in each notebook),
broken ones (a notebook that is not JSON, a kernel that dies) and untouched releases. It is
graded once with the default cluster (one worker per core); a subset is graded with 1 and
with 2 workers to measure the speed-up, through a Dask scheduler whose two worker processes
are started apart with Dask's command line (`dask scheduler`, `dask worker`: the path of a
cluster of machines), and with stock nbgrader (`nbgrader autograde` and `nbgrader
generate_feedback`, section by section, in a copy of the same course) for the ratio of the two
graders and a comparison of their points. Every run is the whole grading command, feedback
included, timed from its call to its return. Worker time per notebook is split into kernel
start, time in the notebook's cells (student code and tests), feedback, and the rest (copying,
sanitizing, gradebook).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from .answers import catalogue
from .assignments import scratch_course
from .classroom import grade_class
from .course import COURSE_ROOT, release_notebook, sections, source_notebook
from .submissions import answered, reference_answers, reference_files, with_change, write_submission


def make_class(course, n, seed=0):
    """Write n synthetic submissions into course/submitted; return {student: kind}."""
    rng = random.Random(seed)
    cat = catalogue()
    names = sections(course)
    src = {m: nbformat.read(source_notebook(m, course), as_version=4) for m in names}
    rel = {m: nbformat.read(release_notebook(m, course), as_version=4) for m in names}
    kinds = {}
    for i in range(n):
        kind = ["perfect"] * 5 + ["partly_wrong"] * 3 + ["broken", "untouched"]
        kind = kind[i % 10]
        student = f"s{i:03d}_{kind}"
        nbs = {}
        for m in names:
            if kind == "untouched":
                nbs[m] = rel[m]
            elif kind == "partly_wrong" and [x for x in cat.get(m, ([], []))[0] if x.cell]:
                nbs[m] = with_change(rel[m], src[m], rng.choice([x for x in cat[m][0] if x.cell]))
            else:
                nbs[m] = answered(rel[m], reference_answers(src[m]))
        if kind == "broken":
            first = next(c for c in nbs[names[-1]].cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                         and c.cell_type == "code")
            first.source = "import os\nos._exit(1)\n" + first.source
        handed_in = reference_files(names) if kind in ("perfect", "partly_wrong") else None
        folders = write_submission(course, student, nbs, files=handed_in)
        if kind == "broken":
            (folders[0] / f"{names[0]}.ipynb").write_text('{"cells": [')
        kinds[student] = kind
    return kinds


def time_commands(commands=(("bash .ci/run", ["bash", ".ci/run"]), ("make all", ["make", "all"]))):
    """Run each command in its own fresh clone of HEAD; return a row per command."""
    import os
    import subprocess

    rows = []
    logs = COURSE_ROOT / "build" / "commands"
    logs.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "NBGRADER_DB_URL")}
    shared = COURSE_ROOT.parent / "shared"
    for label, argv in commands:
        with tempfile.TemporaryDirectory(prefix="mlpcourse-clone-") as tmp:
            clone = Path(tmp) / "main"
            subprocess.run(["git", "clone", "--quiet", str(COURSE_ROOT), str(clone)], check=True)
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True,
                                    text=True).stdout.strip()
            if shared.is_dir():
                (Path(tmp) / "shared").symlink_to(shared)
            log = logs / (label.replace(" ", "_").replace("/", "_").replace(".", "") + ".log")
            start = time.perf_counter()
            with open(log, "w") as out:
                proc = subprocess.run(argv, cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT)
            seconds = time.perf_counter() - start
            status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=clone,
                                    capture_output=True, text=True).stdout
            tail = [line for line in log.read_text().splitlines() if line.strip()][-1:] or [""]
            rows.append({"command": label, "commit": commit, "seconds": round(seconds, 1),
                         "exit_status": proc.returncode, "git_status_clean": status == "",
                         "last_line": tail[0][:160], "log": str(log.relative_to(COURSE_ROOT))})
            print(f"{label}: exit {proc.returncode} in {seconds:.0f} s, git status "
                  f"{'clean' if status == '' else 'DIRTY'}; log {log}", flush=True)
    return rows


def timed_grading(course, **kwargs):
    """grade_class(course, **kwargs) and the wall time of the whole call, start and feedback included."""
    start = time.perf_counter()
    report = grade_class(course, **kwargs)
    report["seconds"] = time.perf_counter() - start
    return report


def summarize(report):
    rows = report["results"]
    graded = [r for r in rows if r.get("timing")]
    total = sum(r["seconds"] for r in rows)
    kernel = sum(r["timing"].get("kernel_start") or 0 for r in graded)
    cells = sum(r["timing"].get("cells", 0) for r in graded)
    feedback = sum(r["timing"].get("feedback", 0) for r in graded)
    students = len({r["student"] for r in rows})
    return {"students": students, "notebooks": len(rows), "wall_seconds": round(report["seconds"], 1),
            "seconds_per_submission": round(report["seconds"] / students, 2),
            "task_seconds_total": round(total, 1), "kernel_start_seconds": round(kernel, 1),
            "cell_seconds": round(cells, 1), "feedback_seconds": round(feedback, 1),
            "overhead_seconds": round(total - kernel - cells - feedback, 1),
            "phases": report.get("phases", {})}


# Budgets (issue 30): what the numbers below are held against in docs/benchmarks.md, never in a test.
CATALOGUE_SECONDS = 15        # worker seconds to grade one catalogued submission of a section
NOTEBOOK_WORKER_SECONDS = 2.2  # worker seconds a notebook, feedback and figures included
CLASS_OF_100_SECONDS = 15 * 60  # a class of 100 (800 notebooks) on 2 cores
STOCK_RATIO = 4.0             # stock nbgrader's wall time over the class grader's, same class


@contextlib.contextmanager
def dask_processes(workers=2, timeout=120):
    """A Dask scheduler and `workers` worker processes on 127.0.0.1, each started with Dask's own
    command line; yields the scheduler's address and stops them all afterwards."""
    from dask.distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    with tempfile.TemporaryDirectory(prefix="mlpcourse-dask-") as tmp:
        scheduler_file = Path(tmp) / "scheduler.json"
        # --no-dashboard alone still opens an HTTP server on port 8787 (on every interface)
        procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        try:
            deadline = time.monotonic() + timeout
            while not scheduler_file.exists():
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    raise RuntimeError("the Dask scheduler did not start")
                time.sleep(0.2)
            address = json.loads(scheduler_file.read_text())["address"]
            for i in range(workers):
                procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                                               "--name", f"worker-{i}", "--host", "127.0.0.1"],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            with Client(address) as client:
                client.wait_for_workers(workers, timeout=timeout)
            yield address
        finally:
            for proc in reversed(procs):
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _points(db_url, notebooks):
    """{(student, section): automatic points} from a gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    points = {}
    with Gradebook(db_url) as gb:
        for student in gb.students:
            for name in notebooks:
                try:
                    nb = gb.find_submission_notebook(name, name, student.id)
                except MissingEntry:
                    continue
                points[(student.id, name)] = round(sum(g.auto_score or 0.0 for g in nb.grades), 3)
    return points


def stock_grading(course, students, notebooks):
    """Stock nbgrader on a copy of `course` holding only `students`: `nbgrader autograde` then
    `nbgrader generate_feedback`, section by section (the instructor's commands, one kernel at a
    time); returns the wall times and the gradebook's points."""
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_DB_URL"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="mlpcourse-stock-") as tmp:
        copy = Path(tmp) / "course"
        shutil.copytree(course, copy, ignore=shutil.ignore_patterns("submitted", "autograded", "feedback"))
        for student in students:
            shutil.copytree(course / "submitted" / student, copy / "submitted" / student)
        sections_rows, start = {}, time.perf_counter()
        for name in notebooks:
            row = {}
            for command in ("autograde", "generate_feedback"):
                begin = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "nbgrader", command, name, "--force"], cwd=copy, env=env,
                                      capture_output=True, text=True)
                row[command] = round(time.perf_counter() - begin, 1)
                row[f"{command}_exit_status"] = proc.returncode
            sections_rows[name] = row
            print(f"stock nbgrader, {name}: autograde {row['autograde']:.1f} s, feedback {row['generate_feedback']:.1f} s",
                  flush=True)
        wall = time.perf_counter() - start
        points = _points(f"sqlite:///{copy}/gradebook.db", notebooks)
    return {"students": len(students), "notebooks": len(students) * len(notebooks), "wall_seconds": round(wall, 1),
            "sections": sections_rows, "points": points}


def compare_points(ours, stock):
    """(student/section, ours, stock) wherever the two graders gave different points."""
    return [f"{s}/{n}: {ours.get((s, n))} vs {stock.get((s, n))}" for s, n in sorted(set(ours) | set(stock))
            if ours.get((s, n)) != stock.get((s, n))]


def catalogue_budget(names):
    """Every section's catalogue graded as `python -m mlpcourse check` grades it; per section the
    mean and the slowest worker seconds of a submission, against CATALOGUE_SECONDS."""
    from .check import check_notebooks

    rows = {}
    for name in names:  # one section at a time, as the check command is run
        report = check_notebooks([name], workers=0)[name]
        rows[name] = {"submissions": report.submissions, "mean": round(report.seconds / max(report.submissions, 1), 2),
                      "slowest": round(report.slowest, 2), "problems": len(report.problems)}
        print(f"catalogue {name}: {rows[name]}", flush=True)
    return {"machine": machine(), "budget": CATALOGUE_SECONDS, "sections": rows}


def machine():
    """What the numbers were measured on: CPU, cores, date, commit, torch."""
    import datetime
    import os
    import platform
    import subprocess

    import torch

    cpu = platform.processor() or ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=COURSE_ROOT, capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "avx512": " avx512f" in flags, "cores": os.cpu_count(),
            "date": datetime.date.today().isoformat(), "commit": commit, "torch": torch.__version__}


def compare_figures(students):
    """Grade one class twice with 2 workers, figures drawn inline and with Agg (none kept); per
    section: worker seconds per notebook and the size of its autograded notebook and feedback."""
    runs = {}
    with tempfile.TemporaryDirectory(prefix="mlpcourse-figures-") as tmp:
        course = scratch_course(sections(), Path(tmp) / "course")
        make_class(course, students)
        for label, figures in (("inline", True), ("agg", False)):
            report = timed_grading(course, workers=2, progress=False, figures=figures,
                                   db_url=f"sqlite:///{tmp}/{label}.db")
            per = {}
            for r in report["results"]:
                if r["status"] != "ok":
                    continue
                row = per.setdefault(r["notebook"], {"n": 0, "seconds": 0.0, "kb": 0.0, "images": 0})
                row["n"] += 1
                row["seconds"] += r["seconds"]
                for path in (course / "autograded" / r["student"] / r["notebook"] / f"{r['notebook']}.ipynb",
                             course / "feedback" / r["student"] / r["notebook"] / f"{r['notebook']}.html"):
                    if path.is_file():
                        row["kb"] += path.stat().st_size / 1024
                graded = course / "autograded" / r["student"] / r["notebook"] / f"{r['notebook']}.ipynb"
                if graded.is_file():
                    row["images"] += graded.read_text().count('"image/png"')
            runs[label] = {"wall_seconds": round(report["seconds"], 1),
                           "sections": {k: {"notebooks": v["n"], "seconds": round(v["seconds"] / v["n"], 2),
                                            "kb": round(v["kb"] / v["n"], 1), "images": round(v["images"] / v["n"], 1)}
                                        for k, v in sorted(per.items())}}
            print(f"{label}: {report['seconds']:.1f} s", flush=True)
    return {"machine": machine(), "students": students, "runs": runs}


def _figures_table(fig):
    m = fig.get("machine", {})
    inline, agg = fig["runs"]["inline"], fig["runs"]["agg"]
    lines = ["## Figures in graded notebooks", "",
             f"Measured on {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('date', '?')}, commit "
             f"{m.get('commit', '?')}: `python -m mlpcourse benchmark --figures --students {fig['students']}` "
             "grades the same class twice with 2 workers, the grading kernels drawing inline (figures kept in "
             "the autograded notebook and the feedback, the default) and with Agg (none kept). Per notebook "
             "graded without failure: worker seconds, and kilobytes of its autograded notebook plus feedback page.", "",
             "| section | notebooks | figures | s inline | s Agg | extra s | KB inline | KB Agg |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, a in inline["sections"].items():
        b = agg["sections"].get(name, {})
        lines.append(f"| {name} | {a['notebooks']} | {a['images']:g} | {a['seconds']:.2f} | {b.get('seconds', 0):.2f} | "
                     f"{a['seconds'] - b.get('seconds', 0):+.2f} | {a['kb']:.0f} | {b.get('kb', 0):.0f} |")
    lines += ["", f"Whole class: {inline['wall_seconds']:.1f} s inline, {agg['wall_seconds']:.1f} s with Agg.", ""]
    return lines


def _catalogue_table(cat):
    m = cat.get("machine", {})
    lines = ["## The catalogue's budget", "",
             f"Measured on {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('date', '?')}, commit "
             f"{m.get('commit', '?')}: `python -m mlpcourse benchmark --catalogue` grades each section's catalogue "
             "(`python -m mlpcourse check SECTION`, one section at a time, the default cluster). Worker seconds "
             f"of one submission (the forger left out) against the budget of {cat['budget']} s; the tests check "
             "only the verdicts.", "",
             "| section | submissions | mean s | slowest s | budget s | mean within | problems |",
             "|---|---:|---:|---:|---:|---|---:|"]
    for name, r in cat["sections"].items():
        lines.append(f"| {name} | {r['submissions']} | {r['mean']:.2f} | {r['slowest']:.2f} | {cat['budget']} | "
                     f"{'yes' if r['mean'] <= cat['budget'] else '**no**'} | {r['problems']} |")
    return lines + [""]


def _budget_lines(data):
    """The class run and stock nbgrader against issue 30's budgets."""
    lines = []
    stock, cls = data.get("stock"), data.get("class")
    if stock:
        lines += ["", f"Stock nbgrader (`nbgrader autograde` then `nbgrader generate_feedback`, section by section) "
                  f"on the first {stock['students']} students of the same class: {stock['wall_seconds']:.1f} s for "
                  f"{stock['notebooks']} notebooks, {stock['wall_seconds'] / max(stock['notebooks'], 1):.2f} s a "
                  f"notebook. Points compared on {stock['points_compared']} notebooks: "
                  + ("identical." if not stock["points_differ"] else
                     f"{len(stock['points_differ'])} differ (ours vs stock): " + "; ".join(stock["points_differ"][:10]))]
    if cls:
        n = max(cls["notebooks"], 1)
        worker = cls["task_seconds_total"] / n
        projected = cls["wall_seconds"] / n * 800
        lines += ["", "| budget (issue 30) | target | measured | within |", "|---|---:|---:|---|",
                  f"| worker s per notebook, feedback and figures included | ≤ {NOTEBOOK_WORKER_SECONDS} | {worker:.2f} | "
                  f"{'yes' if worker <= NOTEBOOK_WORKER_SECONDS else 'no'} |",
                  f"| a class of 100 (800 notebooks), from this run's wall s per notebook | ≤ {CLASS_OF_100_SECONDS / 60:.0f} min | "
                  f"{projected / 60:.1f} min | {'yes' if projected <= CLASS_OF_100_SECONDS else 'no'} |"]
        if "stock_ratio" in data:
            lines.append(f"| stock nbgrader's wall s per notebook over the class grader's | ≥ {STOCK_RATIO:g}× | "
                         f"{data['stock_ratio']:.2f}× | {'yes' if data['stock_ratio'] >= STOCK_RATIO else 'no'} |")
    return lines


def write_report(data, out):
    """docs/benchmarks.md: the tables of one benchmark run (build/benchmark.json)."""
    m = data.get("machine", {})
    rows = [("class, default cluster", data.get("class")), ("subset, 1 worker", data.get("subset_1_worker")),
            ("subset, 2 workers", data.get("subset_2_worker")),
            ("subset, 2 workers, kernels from scratch", data.get("subset_2_worker_no_preload")),
            ("subset, Dask scheduler + 2 `dask worker` processes", data.get("subset_dask_scheduler"))]
    lines = ["# Benchmarks", "",
             "Written by `python -m mlpcourse benchmark --report` from `build/benchmark.json`, which",
             "`python -m mlpcourse benchmark [--commands]` measures. Do not edit by hand.", ""]
    if data.get("note"):
        lines += [f"Note on these measurements: {data['note']}", ""]
    commands = data.get("commands")
    if commands:
        c = commands.get("machine", {})
        lines += ["## The two commands on a fresh clone", "",
                  f"Measured on {c.get('cpu', '?')} ({'AVX-512' if c.get('avx512') else 'no AVX-512'}), "
                  f"{c.get('cores', '?')} cores, {c.get('date', '?')}, torch {c.get('torch', '?')}. "
                  "Install (the virtualenv) included; each command in its own clone.", "",
                  "| command | commit | wall | exit status | `git status` afterwards | last line of its output |",
                  "|---|---|---:|---:|---|---|"]
        for r in commands["rows"]:
            lines.append(f"| `{r['command']}` | {r['commit']} | {r['seconds'] // 60:.0f} min {r['seconds'] % 60:.0f} s | "
                         f"{r['exit_status']} | {'clean' if r['git_status_clean'] else 'changed'} | "
                         f"{r['last_line'].replace('|', '/')} |")
        lines.append("")
    if data.get("figures"):
        lines += _figures_table(data["figures"])
    if data.get("catalogue"):
        lines += _catalogue_table(data["catalogue"])
    if not any(data.get(k) for k in ("class", "subset_1_worker", "subset_2_worker")):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text("\n".join(lines) + "\n")
        return out
    lines += ["## Class grading", "",
              f"Measured on {m.get('cpu', '?')} ({'AVX-512' if m.get('avx512') else 'no AVX-512'}), "
              f"{m.get('cores', '?')} cores, {m.get('date', '?')}, commit {m.get('commit', '?')}, "
              f"torch {m.get('torch', '?')}: `python -m mlpcourse benchmark --students {data.get('students', '?')} "
              f"--speedup-students {data.get('speedup_students', '?')}`.", "",
             "| run | students | notebooks | wall s | s per submission | worker s per notebook | kernel start s | cells s | feedback s | rest s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, r in rows:
        if not r:
            continue
        n = max(r["notebooks"], 1)
        lines.append(f"| {label} | {r['students']} | {r['notebooks']} | {r['wall_seconds']:.1f} | "
                     f"{r['seconds_per_submission']:.2f} | {r['task_seconds_total'] / n:.2f} | "
                     f"{r['kernel_start_seconds'] / n:.2f} | {r['cell_seconds'] / n:.2f} | "
                     f"{r['feedback_seconds'] / n:.2f} | {r['overhead_seconds'] / n:.2f} |")
    if "speedup_2_over_1" in data:
        lines += ["", f"Speed-up of 2 workers over 1 on the subset: **{data['speedup_2_over_1']:.2f}×**."]
    lines += _budget_lines(data)
    failures = (data.get("class") or {}).get("failure_list", [])
    if failures:
        lines += ["", "Notebooks of the class run that failed, with the reason grading gave:", ""]
        lines += [f"- {f}" for f in failures]
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines) + "\n")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mlpcourse benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--speedup-students", type=int, default=10)
    parser.add_argument("--out", default=str(COURSE_ROOT / "build" / "benchmark.json"))
    parser.add_argument("--compare-preload", action="store_true",
                        help="also grade the subset with kernels started from scratch (GradeClass.preload off)")
    parser.add_argument("--stock-students", type=int, default=10,
                        help="students of the class also graded by stock nbgrader, for the ratio (0: none)")
    parser.add_argument("--catalogue", action="store_true",
                        help=f"grade every section's catalogue; its mean and slowest submission against {CATALOGUE_SECONDS} s")
    parser.add_argument("--report", action="store_true", help="only write docs/benchmarks.md from --out")
    parser.add_argument("--note", help="a sentence on the conditions of the measurement (e.g. a busy shared "
                                       "machine), kept in --out and printed under the title")
    parser.add_argument("--figures", action="store_true",
                        help="grade --students twice, figures inline and with Agg: what keeping figures costs")
    parser.add_argument("--commands", action="store_true",
                        help="time `.ci/run` and `make all`, each on a fresh clone of HEAD (install included)")
    args = parser.parse_args(argv)
    path = Path(args.out)
    stored = json.loads(path.read_text()) if path.is_file() else {}
    if args.note is not None:
        stored["note"] = args.note
    if args.report:
        if args.note is not None and path.is_file():
            path.write_text(json.dumps(stored, indent=2))
        print(write_report(stored, COURSE_ROOT / "docs" / "benchmarks.md"))
        return 0
    if args.catalogue:
        stored["catalogue"] = catalogue_budget(sections())
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        print(write_report(stored, COURSE_ROOT / "docs" / "benchmarks.md"))
        return 0 if not any(r["problems"] for r in stored["catalogue"]["sections"].values()) else 1
    if args.figures:
        stored["figures"] = compare_figures(args.students)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        print(write_report(stored, COURSE_ROOT / "docs" / "benchmarks.md"))
        return 0
    if args.commands:
        stored["commands"] = {"machine": machine(), "rows": time_commands()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        print(write_report(stored, COURSE_ROOT / "docs" / "benchmarks.md"))
        return 0 if all(r["exit_status"] == 0 and r["git_status_clean"] for r in stored["commands"]["rows"]) else 1
    start = time.perf_counter()
    out = {"machine": machine(), "students": args.students, "speedup_students": args.speedup_students}
    for kept in ("commands", "figures", "catalogue", "note"):
        if kept in stored:
            out[kept] = stored[kept]
    with tempfile.TemporaryDirectory(prefix="mlpcourse-bench-") as tmp:
        course = scratch_course(sections(), Path(tmp) / "course")
        make_class(course, args.students)
        subset = sorted(p.name for p in (course / "submitted").iterdir())[: args.speedup_students]
        for workers in (1, 2):
            report = timed_grading(course, students=subset, workers=workers, progress=False,
                                   db_url=f"sqlite:///{tmp}/speedup-{workers}.db")
            out[f"subset_{workers}_worker"] = summarize(report)
            print(f"{len(subset)} submissions, {workers} worker(s): {report['seconds']:.1f} s", flush=True)
        out["speedup_2_over_1"] = round(out["subset_1_worker"]["wall_seconds"] / out["subset_2_worker"]["wall_seconds"], 2)
        with dask_processes(2) as address:  # the multi-machine path: workers started apart from the grader
            report = timed_grading(course, students=subset, scheduler=address, progress=False,
                                   db_url=f"sqlite:///{tmp}/scheduler.db")
        out["subset_dask_scheduler"] = summarize(report)
        print(f"{len(subset)} submissions, Dask scheduler and 2 `dask worker` processes: {report['seconds']:.1f} s",
              flush=True)
        if args.compare_preload:  # the same subset with every kernel started from scratch (no zygote)
            report = timed_grading(course, students=subset, workers=2, progress=False, preload=False,
                                   db_url=f"sqlite:///{tmp}/no-preload.db")
            out["subset_2_worker_no_preload"] = summarize(report)
            print(f"{len(subset)} submissions, 2 workers, kernels started from scratch: {report['seconds']:.1f} s",
                  flush=True)
        report = timed_grading(course, workers=0, feedback=True, progress=True, db_url=f"sqlite:///{tmp}/class.db")
        out["class"] = summarize(report)
        failed = [r for r in report["results"] if r["status"] != "ok"]
        out["class"]["failures"] = len(failed)
        out["class"]["failure_list"] = [f"{r['student']}/{r['notebook']}: {r['status']}: {r['reason']}" for r in failed]
        out["class"]["graded_on_second_attempt"] = [f"{r['student']}/{r['notebook']}: {r['nbgrader_failures'][0]}"
                                                     for r in report["results"]
                                                     if r.get("nbgrader_failures") and r["status"] != "error"]
        if args.stock_students:  # stock nbgrader on the first students of the same class, same submissions
            stock_students = sorted(p.name for p in (course / "submitted").iterdir())[: args.stock_students]
            stock = stock_grading(course, stock_students, sections(course))
            ours = _points(f"sqlite:///{tmp}/class.db", sections(course))
            stock_points = stock.pop("points")
            mine = {k: v for k, v in ours.items() if k[0] in stock_students}
            stock["points_differ"] = compare_points(mine, stock_points)
            stock["points_compared"] = len(set(mine) | set(stock_points))
            out["stock"] = stock
            per_notebook = out["class"]["wall_seconds"] / max(out["class"]["notebooks"], 1)
            out["stock_ratio"] = round(stock["wall_seconds"] / max(stock["notebooks"], 1) / per_notebook, 2)
    out["total_seconds"] = round(time.perf_counter() - start, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    print(write_report(out, COURSE_ROOT / "docs" / "benchmarks.md"))
    return 0
