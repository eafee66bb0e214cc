"""Grade a notebook's catalogue of answers in a scratch course and report what does not hold.

    python -m mlpcourse check 01_dataset [02_forward_pass …]

For each notebook: the reference answers must earn every automatic point, the untouched
release none, each catalogued mistake must lose exactly the points of the test cells it names,
and each alternative must keep every point. A copy of the first mistake whose test cells were
deleted or emptied must lose the same points (the cells are put back). The alias attack
(mlpcourse.aliases) is graded with the mistakes.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import nbformat

from . import answers as catalogue_mod
from .aliases import attacks as alias_attacks
from .assignments import scratch_course
from .course import graded_cells, release_notebook, source_notebook
from .submissions import answered, forger, reference_answers, reference_files, tampered, with_change, write_submission


@dataclass
class Report:
    notebook: str
    problems: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    seconds: float = 0.0      # worker time over the timed submissions (all but the forger)
    submissions: int = 0      # the timed submissions
    slowest: float = 0.0      # the slowest submission
    wall: float = 0.0         # the grading call, cluster start included


def _write_catalogue(course, name):
    """Write the reference, the release and every catalogued answer of one section as submissions;
    return ({student: grade_ids it must lose}, {student: label}, {grade_id: points})."""
    mistakes, alternatives = catalogue_mod.catalogue().get(name, ([], []))
    changes = ([("mistake", m) for m in mistakes] + [("alias", m) for m in alias_attacks(name)]
               + [("alternative", a) for a in alternatives])
    source_nb = nbformat.read(source_notebook(name), as_version=4)
    release_nb = nbformat.read(release_notebook(name, course), as_version=4)
    points = graded_cells(source_nb)
    files = reference_files([name])
    prefix = f"s{name[:2]}-"  # one student per submission, whatever the section
    expect = {prefix + "reference": set(), prefix + "untouched": set(points)}
    labels = {prefix + "reference": "reference answers", prefix + "untouched": "untouched release"}
    write_submission(course, prefix + "reference", {name: answered(release_nb, reference_answers(source_nb))}, files)
    write_submission(course, prefix + "untouched", {name: release_nb})
    first = next((m for m in mistakes if m.cell), None)
    if first:  # the first mistake behind test cells that were deleted or emptied: they are put back
        student = prefix + "tampered"
        write_submission(course, student, {name: tampered(with_change(release_nb, source_nb, first))}, files)
        expect[student], labels[student] = set(first.loses), f"every test cell deleted or emptied, and: {first.why}"
    if any(m.cell for m in mistakes):  # wrong answers with every verdict forged in the kernel: no point gained
        student = prefix + "forger"
        nb, bad_files, expect[student], labels[student] = forger(release_nb, source_nb, mistakes)
        write_submission(course, student, {name: nb}, {name: {**files.get(name, {}), **bad_files}})
    for k, (kind, change) in enumerate(changes):
        student = f"{prefix}{kind}-{k:02d}-{change.cell or 'files'}"
        unknown = set(change.loses) - set(points)
        if unknown:
            raise ValueError(f"{name}: {change.why}: no test cell {sorted(unknown)}")
        nb = with_change(release_nb, source_nb, change) if change.cell else answered(
            release_nb, reference_answers(source_nb))
        write_submission(course, student, {name: nb}, {name: {**files.get(name, {}), **dict(change.files)}})
        expect[student] = set(change.loses)
        labels[student] = change.why
    return expect, labels, points


def check_notebooks(names, workdir=None, workers=1):
    """Grade the reference, the release and every catalogued answer of each section, all in one
    scratch course with one call of the class grader (as an instructor grades: nbgrader's
    autograde, kernels forked from each worker's zygote); return {section: Report}."""
    from .classroom import grade_class

    course = scratch_course(names, workdir)
    written = {name: _write_catalogue(course, name) for name in names}
    # Points only: no feedback pages, and figures drawn with Agg (not kept), which saves up to 2 s
    # a notebook (docs/benchmarks.md). Figures in graded notebooks and feedback are checked by
    # tests/test_stock_nbgrader.py (stock autograde) and tests/test_jupyterlab.py (the class grader).
    report = grade_class(course, workers=workers, feedback=False, figures=False, progress=False,
                         assignments=list(names))
    graded = {(r["student"], r["notebook"]): r for r in report["results"]}
    reports = {}
    for name, (expect, labels, points) in written.items():
        # timing: not the forger, whose combined mistakes can run a cell into its time limit (07: a
        # diverged network sampled without a generator), which says nothing of the grading parameters
        timed = [s for s in expect if not s.endswith("-forger")]
        seconds = [graded[(s, name)]["seconds"] for s in timed if (s, name) in graded]
        out = reports[name] = Report(name, seconds=sum(seconds), submissions=len(timed),
                                     slowest=max(seconds, default=0.0), wall=report["seconds"])
        caught = set().union(*(lose for s, lose in expect.items() if not s.endswith("-untouched")))
        if set(points) - caught:
            out.problems.append(f"no catalogued mistake loses the points of {sorted(set(points) - caught)}")
        for student, should_lose in expect.items():
            result = graded.get((student, name))
            if result is None:
                out.problems.append(f"{student}: not graded")
                continue
            cells = {gid: (g["auto_score"] or 0.0, g["max_score"]) for gid, g in result["grades"].items()
                     if g["kind"] == "test"}
            lost = {gid for gid, (score, max_score) in cells.items() if gid in points and score < max_score}
            total = sum(score for gid, (score, _) in cells.items() if gid in points)
            status = "" if result["status"] == "ok" else f" [{result['status']}: {result['reason']}]"
            line = (f"{student:40s} {total:5.1f}/{sum(points.values()):4.1f}  lost {sorted(lost) or '-'}  "
                    f"({labels[student]}){status}")
            out.lines.append(line)
            if lost != should_lose:
                out.problems.append(f"{line}: expected to lose {sorted(should_lose) or 'nothing'}")
    if workdir is None:
        shutil.rmtree(course, ignore_errors=True)
    return reports


def main(argv):
    names = argv or sorted(catalogue_mod.catalogue())
    bad = 0
    reports = check_notebooks(names, workers=0)
    for name, report in reports.items():
        print(f"== {name}: {report.submissions} submissions, {report.seconds / report.submissions:.1f} s each "
              f"on a worker, slowest {report.slowest:.1f} s")
        print("\n".join(report.lines))
        for p in report.problems:
            print("PROBLEM:", p)
        bad += len(report.problems)
    wall = next(iter(reports.values())).wall if reports else 0.0
    print(f"{sum(r.submissions for r in reports.values())} submissions graded in {wall:.1f} s; {bad} problems")
    return 1 if bad else 0
