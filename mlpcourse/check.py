"""Grade a notebook's catalogue of answers in a scratch course and report what does not hold.

    python -m mlpcourse check 01_dataset [02_forward_pass …]

For each notebook: the reference answers must earn every automatic point, the untouched
release none, each catalogued mistake must lose exactly the points of the test cells it names,
and each alternative must keep every point.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import answers as catalogue_mod
from .submissions import (ASSIGNMENT, answered, graded_cells, reference_answers, reference_files,
                          with_change, write_submission)

COURSE_ROOT = Path(__file__).resolve().parent.parent


def nbgrader(course, *args, timeout=3600):
    """Run an nbgrader command in a course directory; raise with its log if it fails."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("NBGRADER_DB_URL", None)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def scratch_course(notebooks, root=None, course_root=COURSE_ROOT):
    """A scratch course directory holding only the given source notebooks, release generated."""
    root = Path(root or tempfile.mkdtemp(prefix="mlpcourse-"))
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(course_root) / "nbgrader_config.py", root)
    src = root / "source" / ASSIGNMENT
    src.mkdir(parents=True, exist_ok=True)
    for name in notebooks:
        shutil.copy(Path(course_root) / "source" / ASSIGNMENT / f"{name}.ipynb", src)
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


def scores(course):
    """{student: {notebook: {grade_id: score}}} of every autograded cell in the course gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            out[sub.student.id] = {
                nb.name: {g.name: (g.score, g.max_score) for g in nb.grades if g.auto_score is not None
                          or g.cell_type == "code"}
                for nb in sub.notebooks}
    return out


@dataclass
class Report:
    notebook: str
    problems: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    seconds: float = 0.0
    submissions: int = 0


def check_notebook(name, workdir=None):
    """Grade the reference, the release and every catalogued answer of one notebook."""
    mistakes, alternatives = catalogue_mod.catalogue().get(name, ([], []))
    course = scratch_course([name], workdir)
    source_nb = nbformat.read(COURSE_ROOT / "source" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    release_nb = nbformat.read(course / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    points = graded_cells(source_nb)
    expect = {"reference": set(), "untouched": set(points)}
    files = reference_files([name])
    write_submission(course, "reference", {name: answered(release_nb, reference_answers(source_nb))}, files)
    write_submission(course, "untouched", {name: release_nb})
    labels = {"reference": "reference answers", "untouched": "untouched release"}
    for k, change in enumerate(mistakes + alternatives):
        kind = "mistake" if change.loses else "alternative"
        student = f"{kind}-{k:02d}-{change.cell or 'files'}"
        unknown = set(change.loses) - set(points)
        if unknown:
            raise ValueError(f"{name}: {change.why}: no test cell {sorted(unknown)}")
        nb = with_change(release_nb, source_nb, change) if change.cell else answered(
            release_nb, reference_answers(source_nb))
        write_submission(course, student, {name: nb}, {**files, **dict(change.files)})
        expect[student] = set(change.loses)
        labels[student] = change.why
    start = time.perf_counter()
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    report = Report(name, seconds=time.perf_counter() - start, submissions=len(expect))
    got = scores(course)
    for student, should_lose in expect.items():
        cells = got.get(student, {}).get(name)
        if cells is None:
            report.problems.append(f"{student}: not graded")
            continue
        lost = {gid for gid, (score, max_score) in cells.items() if gid in points and score < max_score}
        total = sum(score for gid, (score, _) in cells.items() if gid in points)
        line = f"{student:40s} {total:5.1f}/{sum(points.values()):4.1f}  lost {sorted(lost) or '-'}  ({labels[student]})"
        report.lines.append(line)
        if lost != should_lose:
            report.problems.append(f"{line}: expected to lose {sorted(should_lose) or 'nothing'}")
    if workdir is None:
        shutil.rmtree(course, ignore_errors=True)
    return report


def main(argv):
    names = argv or sorted(catalogue_mod.catalogue())
    bad = 0
    for name in names:
        report = check_notebook(name)
        print(f"== {name}: {report.submissions} submissions autograded in {report.seconds:.1f} s "
              f"({report.seconds / report.submissions:.1f} s each)")
        print("\n".join(report.lines))
        for p in report.problems:
            print("PROBLEM:", p)
        bad += len(report.problems)
    return 1 if bad else 0
