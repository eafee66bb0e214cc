"""The main job: data, release, headless runs, example submissions graded as a class, grades.

    python -m mlpcourse all [--source PATH]

1. provision data/names.txt (checksum-verified);
2. generate every section's assignment with nbgrader into build/release/ (the gradebook learns
   every section) and check that the committed release/ is what nbgrader makes now;
3. run every instructor notebook headless (papermill, fresh kernel, in a copy of its section
   folder) with the grading parameters, into build/executed/;
4. build the example submissions in submitted/: ``reference`` (the model answers),
   ``untouched`` (the release as handed out) and ``partly_wrong`` (the first catalogued mistake
   of every section);
5. grade them as a class (``python -m mlpcourse grade``: nbgrader's autograde of each notebook,
   isolated, on Dask), with feedback, and ``nbgrader export`` (build/grades.csv);
6. print the grade table per student and section.

Nothing tracked by git is written. The full-length lecture runs (and the walk-throughs in
notebooks/) are ``make lectures``.
"""
from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import time
from pathlib import Path

import nbformat

from . import answers
from .assignments import EXAMPLE_STUDENTS, copy_section, forget_examples, generate
from .course import COURSE_ROOT, graded_cells, grading_parameters, release_notebook, sections, source_notebook
from .data import DataError, provision
from .notebooks import execute
from .submissions import answered, reference_answers, reference_files, with_change, write_submission

BUILD = COURSE_ROOT / "build"


def stale_release(names, built=BUILD / "release"):
    """Files of release/ that differ from what nbgrader generated into `built` (or are missing)."""
    stale = []
    for name in names:
        new, old = built / name, COURSE_ROOT / "release" / name
        files = {p.relative_to(new) for p in new.rglob("*") if p.is_file()} | \
                {p.relative_to(old) for p in old.rglob("*") if p.is_file()}
        stale += [str(Path("release") / name / f) for f in sorted(files)
                  if not (new / f).is_file() or not (old / f).is_file() or not filecmp.cmp(new / f, old / f, shallow=False)]
    return stale


def run_headless(names, parameters, log=print):
    """Execute each instructor notebook from a fresh kernel in a copy of its section folder
    (build/run/source/<section>/, so nothing it writes lands in source/), with the files a student
    hands in beside it; return {name: seconds}."""
    times = {}
    handed_in = reference_files(names)  # with the grading parameters 07 does not train its model: hand in the instructor's
    for name in names:
        folder = copy_section(name, BUILD / "run")
        for fname, content in handed_in.get(name, {}).items():
            (folder / fname).write_bytes(content)
        start = time.perf_counter()
        execute(folder / f"{name}.ipynb", BUILD / "executed" / f"{name}.ipynb", parameters=parameters.get(name) or None,
                cwd=folder)
        times[name] = time.perf_counter() - start
        log(f"      {name:28s} {times[name]:6.1f} s")
    return times


def example_submissions(names):
    """Write the reference, untouched and partly_wrong submissions into submitted/."""
    catalogue = answers.catalogue()
    shutil.rmtree(COURSE_ROOT / "submitted", ignore_errors=True)
    subs = {student: {} for student in EXAMPLE_STUDENTS}
    for name in names:
        src = nbformat.read(source_notebook(name), as_version=4)
        rel = nbformat.read(release_notebook(name), as_version=4)
        subs["reference"][name] = answered(rel, reference_answers(src))
        subs["untouched"][name] = rel
        mistakes = [m for m in catalogue.get(name, ([], []))[0] if m.cell]
        subs["partly_wrong"][name] = (with_change(rel, src, mistakes[0]) if mistakes
                                      else answered(rel, reference_answers(src)))
    files = reference_files(names)
    for student, notebooks in subs.items():
        write_submission(COURSE_ROOT, student, notebooks, files if student != "untouched" else None)
    return list(subs)


def grade_table(names, students):
    """Rows (student, section, score, max) of automatic points from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    auto_max = {name: sum(graded_cells(nbformat.read(source_notebook(name), as_version=4)).values()) for name in names}
    rows = []
    with Gradebook(f"sqlite:///{COURSE_ROOT}/gradebook.db") as gb:
        for student in students:
            for name in names:
                try:
                    nb = gb.find_submission_notebook(name, name, student)
                except MissingEntry:
                    continue
                auto = sum(g.score for g in nb.grades if g.cell_type == "code")
                rows.append((student, name, auto, auto_max[name]))
    return rows


def print_table(rows, names, out=sys.stdout):
    students = list(dict.fromkeys(r[0] for r in rows))
    cell = {(r[0], r[1]): r for r in rows}
    width = max(len(n) for n in names)
    header = f"{'section':{width}s} " + " ".join(f"{s:>14s}" for s in students)
    print(header, file=out)
    print("-" * len(header), file=out)
    totals = {s: [0.0, 0.0] for s in students}
    for name in names:
        parts = []
        for s in students:
            _, _, score, maximum = cell[(s, name)]
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
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        path = provision(args.source)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"[1/6] data: {path} verified")
    names = sections()
    start = time.perf_counter()
    forget_examples()
    shutil.rmtree(BUILD / "release", ignore_errors=True)
    generate(COURSE_ROOT, names, release_dir=BUILD / "release")
    stale = stale_release(names)
    print(f"[2/6] {len(names)} sections generated by nbgrader in {time.perf_counter() - start:.1f} s; "
          + ("release/ is up to date" if not stale else f"release/ is OUT OF DATE ({len(stale)} files): run `make release`"))
    print("[3/6] the instructor notebooks, headless, with the grading parameters (build/executed/):")
    run_headless(names, grading_parameters())
    students = example_submissions(names)
    print(f"[4/6] example submissions: {', '.join(students)}")
    from .class_reports import export_csv
    from .classroom import grade_class

    for student in students:
        shutil.rmtree(COURSE_ROOT / "autograded" / student, ignore_errors=True)
        shutil.rmtree(COURSE_ROOT / "feedback" / student, ignore_errors=True)
    report = grade_class(COURSE_ROOT, students=list(students), progress=False, assignments=names)
    export_csv(report, BUILD / "grades.csv")
    per_task = sorted(r["seconds"] for r in report["results"])
    print(f"[5/6] autograded {len(students)} submissions ({len(report['results'])} notebooks, isolated, on Dask) "
          f"in {report['seconds']:.1f} s; one notebook takes {per_task[len(per_task) // 2]:.1f} s (median); "
          f"feedback in feedback/, grades in build/grades.csv")
    for r in report["results"]:
        if r["status"] != "ok":
            print(f"      {r['student']}/{r['notebook']}: {r['status']}: {r['reason']}")
    print("[6/6] grades (automatic points):\n")
    print_table(grade_table(names, students), names)
    print(f"\ndone in {time.perf_counter() - t0:.0f} s")
    return 1 if stale else 0
