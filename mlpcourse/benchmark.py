"""Benchmark of class grading: N synthetic submissions of every notebook, graded on Dask.

    python -m mlpcourse benchmark [--students 100] [--speedup-students 10] [--compare-preload]
                                  [--out build/benchmark.json]

The class mixes perfect submissions, partly wrong ones (a catalogued mistake in each notebook),
broken ones (a notebook that is not JSON, a kernel that dies) and untouched releases. It is
graded once with the default cluster (one worker per core); a subset is graded with 1 and
with 2 workers to measure the speed-up. Every run is the whole grading command, feedback
included, timed from its call to its return. Worker time per notebook is split into kernel
start, time in the notebook's cells (student code and tests), feedback, and the rest (copying,
sanitizing, gradebook).
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import nbformat

from .answers import catalogue
from .check import scratch_course
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mlpcourse benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--speedup-students", type=int, default=10)
    parser.add_argument("--out", default=str(COURSE_ROOT / "build" / "benchmark.json"))
    parser.add_argument("--compare-preload", action="store_true",
                        help="also grade the subset with kernels started from scratch (GradeClass.preload off)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = {}
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
    out["total_seconds"] = round(time.perf_counter() - start, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return 0
