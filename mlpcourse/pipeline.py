"""The main job: data, release, headless instructor runs, example submissions, grades.

    python -m mlpcourse all [--source PATH] [--quick]

1. provision data/names.txt (checksum-verified);
2. ``nbgrader generate_assignment`` → release/;
3. run every instructor notebook headless (papermill, fresh kernel) and write the lecture
   walk-throughs to notebooks/ (outputs kept; solution markers, hidden tests and nbgrader
   metadata removed); ``--quick`` uses the grading knobs instead of the full-length runs;
4. build the example submissions in submitted/: ``reference`` (the model answers),
   ``untouched`` (the release as handed out) and ``partly_wrong`` (the first catalogued
   mistake of every notebook);
5. grade them as a class (``python -m mlpcourse grade``: nbgrader's autograde of each notebook,
   isolated, on Dask), generate feedback, ``nbgrader export`` (build/grades.csv);
6. print the grade table per student and notebook.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

from . import answers
from .check import COURSE_ROOT, nbgrader
from .data import DataError, provision
from .notebooks import execute, tidy
from .submissions import (ASSIGNMENT, answered, graded_cells, nbgrader_meta, reference_answers,
                          reference_files, with_change, write_submission)

SOURCE = COURSE_ROOT / "source" / ASSIGNMENT
RELEASE = COURSE_ROOT / "release" / ASSIGNMENT
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.M | re.S)
_SOLUTION_MARK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


def section_names():
    """The section notebooks of the assignment, in order (every section)."""
    return sorted(p.stem for p in SOURCE.glob("[0-9][0-9]_*.ipynb"))


def walkthrough(executed_nb):
    """An executed instructor notebook as a read-along lecture: no hidden tests, no nbgrader metadata."""
    nb = nbformat.reads(nbformat.writes(executed_nb), as_version=4)
    for cell in nb.cells:
        cell.source = _SOLUTION_MARK.sub("", _HIDDEN.sub("", cell.source)).rstrip("\n")
        cell.metadata.pop("nbgrader", None)
        if "tags" in cell.metadata and cell.metadata["tags"] != ["parameters"]:
            cell.metadata.pop("tags")
    return tidy(nb)


def grading_knobs():
    """{notebook: knobs} that nbgrader_config.py gives InjectParameters."""
    from traitlets.config.loader import PyFileConfigLoader

    loader = PyFileConfigLoader("nbgrader_config.py", path=str(COURSE_ROOT))
    config = loader.load_config()
    return dict(config.InjectParameters.get("parameters", {}))


def run_lectures(names, quick=False, log=print):
    """Execute each instructor notebook headless and write its walk-through to notebooks/."""
    knobs = grading_knobs() if quick else {}
    out_dir = COURSE_ROOT / "build" / "executed"
    times = {}
    for name in names:
        start = time.perf_counter()
        out = execute(SOURCE / f"{name}.ipynb", out_dir / f"{name}.ipynb", parameters=knobs.get(name) or None)
        times[name] = time.perf_counter() - start
        nbformat.write(walkthrough(nbformat.read(out, as_version=4)), COURSE_ROOT / "notebooks" / f"{name}.ipynb")
        log(f"  {name:28s} ran in {times[name]:6.1f} s")
    return times


def example_submissions(names):
    """Write the reference, untouched and partly_wrong submissions into submitted/."""
    catalogue = answers.catalogue()
    shutil.rmtree(COURSE_ROOT / "submitted", ignore_errors=True)
    subs = {student: {} for student in EXAMPLE_STUDENTS}
    for name in names:
        src = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
        rel = nbformat.read(RELEASE / f"{name}.ipynb", as_version=4)
        subs["reference"][name] = answered(rel, reference_answers(src))
        subs["untouched"][name] = rel
        mistakes = catalogue.get(name, ([], []))[0]
        mistakes = [m for m in mistakes if m.cell]
        subs["partly_wrong"][name] = (with_change(rel, src, mistakes[0]) if mistakes
                                      else answered(rel, reference_answers(src)))
    files = reference_files(names)
    for student, notebooks in subs.items():
        write_submission(COURSE_ROOT, student, notebooks, files if student != "untouched" else None)
    return list(subs)


EXAMPLE_STUDENTS = ("reference", "untouched", "partly_wrong")


def forget_examples():
    """Remove the example students (only them) from the gradebook, so the release can be regenerated."""
    from nbgrader.api import Gradebook, MissingEntry

    if not (COURSE_ROOT / "gradebook.db").exists():
        return
    with Gradebook(f"sqlite:///{COURSE_ROOT}/gradebook.db") as gb:
        for student in EXAMPLE_STUDENTS:
            try:
                gb.remove_student(student)
            except MissingEntry:
                pass


def grade_table(names, students):
    """Rows (student, notebook, score, max) of automatic points from the gradebook, plus totals."""
    from nbgrader.api import Gradebook

    rows = []
    auto_max = {}
    for name in names:
        auto_max[name] = sum(graded_cells(nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)).values())
    with Gradebook(f"sqlite:///{COURSE_ROOT}/gradebook.db") as gb:
        for student in students:
            sub = gb.find_submission(ASSIGNMENT, student)
            for nb in sub.notebooks:
                if nb.name in auto_max:
                    auto = sum(g.score for g in nb.grades if g.cell_type == "code")
                    rows.append((student, nb.name, auto, auto_max[nb.name], nb.needs_manual_grade))
    return rows


def print_table(rows, names, out=sys.stdout):
    students = list(dict.fromkeys(r[0] for r in rows))
    cell = {(r[0], r[1]): r for r in rows}
    width = max(len(n) for n in names)
    header = f"{'notebook':{width}s} " + " ".join(f"{s:>14s}" for s in students)
    print(header, file=out)
    print("-" * len(header), file=out)
    totals = {s: [0.0, 0.0] for s in students}
    for name in names:
        parts = []
        for s in students:
            _, _, score, maximum, _ = cell[(s, name)]
            totals[s][0] += score
            totals[s][1] += maximum
            parts.append(f"{score:6.1f} / {maximum:5.1f}")
        print(f"{name:{width}s} " + " ".join(f"{p:>14s}" for p in parts), file=out)
    print("-" * len(header), file=out)
    print(f"{'automatic points':{width}s} " + " ".join(f"{t[0]:6.1f} / {t[1]:5.1f}".rjust(14) for t in totals.values()), file=out)
    print("(written answers are graded by hand in formgrader and are not in these totals)", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mlpcourse all", description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="a local copy of names.txt (default: $MAKEMORE_NAMES, then download)")
    parser.add_argument("--quick", action="store_true", help="run the lecture notebooks with the grading knobs")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        path = provision(args.source)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"[1/6] data: {path} verified")
    names = section_names()
    start = time.perf_counter()
    forget_examples()
    nbgrader(COURSE_ROOT, "generate_assignment", ASSIGNMENT, "--force")
    print(f"[2/6] release/ generated for {len(names)} notebooks in {time.perf_counter() - start:.1f} s")
    print(f"[3/6] running the instructor notebooks headless ({'grading' if args.quick else 'full'} knobs):")
    run_lectures(names, quick=args.quick)
    students = example_submissions(names)
    print(f"[4/6] example submissions: {', '.join(students)}")
    from .classroom import grade_class

    shutil.rmtree(COURSE_ROOT / "autograded", ignore_errors=True)
    (COURSE_ROOT / "autograded").mkdir()
    (COURSE_ROOT / "autograded" / ".gitkeep").touch()
    report = grade_class(COURSE_ROOT, students=list(students), progress=False)
    graded = report["seconds"]
    nbgrader(COURSE_ROOT, "export", "--to", str(COURSE_ROOT / "build" / "grades.csv"))
    per_task = sorted(r["seconds"] for r in report["results"])
    print(f"[5/6] autograded {len(students)} submissions ({len(report['results'])} notebooks, isolated, on Dask) "
          f"in {graded:.1f} s; one notebook takes {per_task[len(per_task) // 2]:.1f} s (median); "
          f"feedback in feedback/, grades in build/grades.csv")
    for r in report["results"]:
        if r["status"] != "ok":
            print(f"      {r['student']}/{r['notebook']}: {r['status']}: {r['reason']}")
    print("[6/6] grades (automatic points):\n")
    print_table(grade_table(names, students), names)
    print(f"\ndone in {time.perf_counter() - t0:.0f} s")
    return 0
