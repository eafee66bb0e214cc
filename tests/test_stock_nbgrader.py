"""Stock nbgrader on a fresh clone (the issue: "Instructors use stock nbgrader on a fresh clone").

A scratch clone of the course (the files git would commit, as they are in the working tree) is set
up with the README's set-up steps (`make setup` runs `python -m mlpcourse provision` and
`python -m mlpcourse gradebook` after installing the venv). Then, as nbgrader's documentation
describes and with nothing but its own command line: students and a due date go into the gradebook,
`generate_assignment` regenerates a section without changing the committed release, every section
is autograded for a reference and an untouched submission (and 07 once more, with a test cell
deleted: it must be put back and graded in full; and 02 once more, wrong answers whose verdicts
are forged in the kernel: they must earn nothing), feedback is generated and the grades are
exported. (The main job on its own fresh clone: tests/test_main_job.py.)

All tests share one clone (module fixture) and run in order, in one class, so that `--dist
loadscope` keeps them on one xdist worker. Stage times are printed (pytest -s shows them).
"""
import csv
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from mlpcourse.course import COURSE_ROOT as ROOT
from mlpcourse.course import graded_cells, release_notebook, sections, source_notebook
from mlpcourse.notebooks import INLINE_BACKEND, NUMERIC_PINS
from mlpcourse.answers import catalogue
from mlpcourse.submissions import answered, forger, reference_answers, reference_files, write_submission

NAMES_SOURCE = ROOT / "data" / "names.txt"
# What a fresh clone never has: provisioned data, the local environment, build products, grading output.
NOT_CLONED = {"data/names.txt"}
NOT_CLONED_DIRS = (".venv/", "build/", "submitted/", "autograded/", "feedback/")
NOT_CLONED_FILES = ("gradebook.db", "gradebook.db-journal")
STUDENTS = {"alice": ("Alice", "Liddell"), "bob": ("Bob", "Builder")}
DUE = "2026-12-01 17:00:00 UTC"


def _clone_files():
    """The files a fresh clone has: tracked and new untracked (not ignored) files, as they are in
    the working tree; files deleted in the working tree are not part of it."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, check=True, capture_output=True).stdout.decode()
    files = []
    for rel in sorted(set(filter(None, out.split("\0")))):
        if rel in NOT_CLONED or rel in NOT_CLONED_FILES or rel.startswith(NOT_CLONED_DIRS):
            continue
        if (ROOT / rel).is_file():
            files.append(rel)
    return files


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Clone:
    """A scratch clone and how to run commands in it (PYTHONPATH and cwd = the clone)."""

    def __init__(self, root):
        self.root = Path(root)
        self.names = sections(self.root)
        self.times = {}
        self.env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_DB_URL", "PYTHONPATH")}
        self.env.update(NUMERIC_PINS)
        self.env.update({
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONPATH": str(self.root),
            "MAKEMORE_NAMES": str(NAMES_SOURCE),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "MPLBACKEND": INLINE_BACKEND,  # as in JupyterLab: figures go into the graded notebooks
        })

    def run(self, *args, timeout=900):
        """Run `python ARGS` in the clone; fail the test with the command's output if it fails."""
        proc = subprocess.run([sys.executable, *args], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        assert proc.returncode == 0, (
            f"`python {' '.join(args)}` exited with {proc.returncode} in the clone {self.root}:\n"
            f"--- stdout (tail) ---\n{proc.stdout[-4000:]}\n--- stderr (tail) ---\n{proc.stderr[-4000:]}")
        return proc

    def nbgrader(self, *args, timeout=900):
        return self.run("-m", "nbgrader", *args, timeout=timeout)

    @staticmethod
    def start():
        """The moment a stage starts: (wall clock, CPU time used by finished subprocesses)."""
        return time.perf_counter(), _children_cpu()

    def stage(self, name, started):
        """Record and print the wall time of a stage, and the CPU time of its subprocesses (the
        wall time depends on the machine's load)."""
        wall, cpu = time.perf_counter() - started[0], _children_cpu() - started[1]
        self.times[name] = wall
        print(f"\n[stock nbgrader] {name}: {wall:.1f} s (subprocess CPU {cpu:.1f} s)", flush=True)

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(f"sqlite:///{self.root}/gradebook.db")

    def scores(self, student):
        """{section: automatic points of `student`} from the clone's gradebook (test cells only)."""
        with self.gradebook() as gb:
            return {name: sum(g.score or 0.0 for g in gb.find_submission_notebook(name, name, student).grades
                              if g.cell_type == "code")
                    for name in self.names}


def fresh_clone(root):
    """The working tree copied to root as a clone of it would be, committed in a new git repository
    (so that `git status` shows what a command changed), with its subprocess environment."""
    t0 = Clone.start()
    files = _clone_files()
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, root / rel)
    c = Clone(root)
    c.files = files
    assert c.names, f"the clone {root} has no sections in source/ (copied {len(files)} files)"
    where = c.run("-c", "import mlpcourse; print(mlpcourse.__file__)").stdout.strip()
    assert Path(where).resolve().is_relative_to(root.resolve()), (
        f"with PYTHONPATH={root} the subprocesses import mlpcourse from {where}, not from the clone")
    c.digests = {rel: _digest(root / rel) for rel in files}
    for args in (["init", "-q"], ["add", "-A"],  # a git repository, as a clone is: `git status` must stay clean
                 ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-qm", "clone"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    c.stage(f"clone ({len(files)} files)", t0)
    return c


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A fresh scratch clone after the README's set-up steps (provision, gradebook)."""
    assert NAMES_SOURCE.is_file(), f"{NAMES_SOURCE} is missing: run `make data` in {ROOT} first"
    begin = Clone.start()
    c = fresh_clone(tmp_path_factory.mktemp("clone"))
    root = c.root
    t0 = Clone.start()
    c.run("-m", "mlpcourse", "provision", "--source", str(NAMES_SOURCE))
    assert _digest(root / "data" / "names.txt") == _digest(NAMES_SOURCE), "provision did not copy names.txt"
    c.run("-m", "mlpcourse", "gradebook")
    c.stage("set-up (provision + gradebook)", t0)
    c.release_before = {p.relative_to(root).as_posix(): p.read_bytes()
                        for p in sorted((root / "release").rglob("*")) if p.is_file()}
    yield c
    print("\n[stock nbgrader] times: " + ", ".join(f"{k} {v:.1f} s" for k, v in c.times.items())
          + f"\n[stock nbgrader] in all: {time.perf_counter() - begin[0]:.1f} s, "
            f"subprocess CPU {_children_cpu() - begin[1]:.1f} s", flush=True)


class TestStockNbgraderOnFreshClone:
    """In order: gradebook and generate_assignment, autograde/feedback/export, mlpcourse grade."""

    def test_gradebook_students_duedate_and_generate_assignment(self, clone):
        from nbgrader.api import MissingEntry

        t0 = Clone.start()
        with clone.gradebook() as gb:
            known = sorted(a.name for a in gb.assignments)
            assert known == clone.names, (
                f"after set-up the gradebook knows {known}, expected every section {clone.names}")
            for name in clone.names:
                notebooks = [nb.name for nb in gb.find_assignment(name).notebooks]
                assert notebooks == [name], f"assignment {name} has notebooks {notebooks} in the gradebook, expected [{name!r}]"
        touched = [rel for rel, digest in clone.digests.items()
                   if rel.startswith("release/") and _digest(clone.root / rel) != digest]
        assert not touched, f"the set-up (`python -m mlpcourse gradebook`) changed committed release files: {touched}"

        for student, (first, last) in STUDENTS.items():
            clone.nbgrader("db", "student", "add", student, f"--first-name={first}", f"--last-name={last}")
        clone.nbgrader("db", "assignment", "add", "03_training", f"--duedate={DUE}")
        with clone.gradebook() as gb:
            for student, (first, last) in STUDENTS.items():
                try:
                    s = gb.find_student(student)
                except MissingEntry:
                    pytest.fail(f"`nbgrader db student add {student}` did not put {student} in the gradebook")
                assert (s.first_name, s.last_name) == (first, last), f"{student}: names {s.first_name} {s.last_name}"
            due = gb.find_assignment("03_training").duedate
            assert due is not None and due.strftime("%Y-%m-%d %H:%M:%S") == "2026-12-01 17:00:00", (
                f"`nbgrader db assignment add 03_training --duedate=...` left the due date at {due}")
            notebooks = [nb.name for nb in gb.find_assignment("03_training").notebooks]
            assert notebooks == ["03_training"], f"setting the due date changed 03_training's notebooks: {notebooks}"

        clone.nbgrader("generate_assignment", "03_training", "--force")
        prefix = "release/03_training/"
        before = {k: v for k, v in clone.release_before.items() if k.startswith(prefix)}
        after = {p.relative_to(clone.root).as_posix(): p.read_bytes()
                 for p in sorted((clone.root / "release" / "03_training").rglob("*")) if p.is_file()}
        assert before, "the clone has no committed release/03_training files"
        assert sorted(after) == sorted(before), (
            f"`nbgrader generate_assignment 03_training --force` changed the files of release/03_training: "
            f"{sorted(before)} -> {sorted(after)}")
        changed = [k for k in before if before[k] != after[k]]
        assert not changed, (
            f"`nbgrader generate_assignment 03_training --force` changed committed release files: {changed} "
            f"(release/ is stale, or generate_assignment does not reproduce it)")
        with clone.gradebook() as gb:
            due = gb.find_assignment("03_training").duedate
            assert due is not None and due.strftime("%Y-%m-%d %H:%M:%S") == "2026-12-01 17:00:00", (
                f"generate_assignment lost the due date of 03_training: {due}")
        clone.stage("db student/assignment add + generate_assignment 03_training", t0)

    def test_autograde_feedback_export_every_section(self, clone):
        t0 = Clone.start()
        root, names = clone.root, clone.names
        reference, untouched, expected = {}, {}, {}
        for name in names:
            src = nbformat.read(source_notebook(name, root), as_version=4)
            rel = nbformat.read(release_notebook(name, root), as_version=4)
            reference[name] = answered(rel, reference_answers(src))
            untouched[name] = rel
            expected[name] = sum(graded_cells(src).values())
        write_submission(root, "alice", reference, files=reference_files(names))
        write_submission(root, "bob", untouched)
        # carol: the reference 07 with its results_test cell deleted, right after a locked cell
        # (stock nbgrader 0.9.6's OverwriteCells raised KeyError there; the course's RestoreCells puts it back)
        restored = "07_sampling_and_tuning"
        if restored in names:
            carol = nbformat.reads(nbformat.writes(reference[restored]), as_version=4)
            carol.cells = [c for c in carol.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "results_test"]
            assert len(carol.cells) == len(reference[restored].cells) - 1, "07 has no results_test cell to delete"
            write_submission(root, "carol", {restored: carol}, files=reference_files([restored]))
        # dave: in 02, the first catalogued mistake of each answer, with every verdict forged in the
        # kernel (mlpcourse.submissions.FORGERY): the checks run in the grader, so he gains nothing
        forged, forged_score = "02_forward_pass", {}
        if forged in names:
            src = nbformat.read(source_notebook(forged, root), as_version=4)
            nb, _, loses, _ = forger(nbformat.read(release_notebook(forged, root), as_version=4), src,
                                     catalogue()[forged][0])
            write_submission(root, "dave", {forged: nb})
            forged_score[forged] = expected[forged] - sum(graded_cells(src)[g] for g in loses)
        if "07_sampling_and_tuning" in names:
            assert (root / "submitted" / "alice" / "07_sampling_and_tuning" / "best_model.pt").is_file(), (
                "reference_files() handed in no best_model.pt with alice's 07_sampling_and_tuning")

        for name in names:
            t1 = Clone.start()
            clone.nbgrader("autograde", name)
            clone.stage(f"autograde {name}", t1)
        t1 = Clone.start()
        for name in names:
            clone.nbgrader("generate_feedback", name)
        clone.stage("generate_feedback (every section)", t1)
        t1 = Clone.start()
        clone.nbgrader("export", f"--to={root / 'build' / 'stock-grades.csv'}")
        clone.stage("export", t1)

        alice, bob = clone.scores("alice"), clone.scores("bob")
        wrong = {n: (alice[n], expected[n]) for n in names if abs(alice[n] - expected[n]) > 1e-9}
        assert not wrong, f"stock autograde gave the reference submission {{section: (points, maximum)}} = {wrong}"
        assert all(expected[n] > 0 for n in names), f"a section has no automatic points: {expected}"
        earned = {n: bob[n] for n in names if bob[n] != 0}
        assert not earned, f"stock autograde gave the untouched release points: {earned}"
        if restored in names:
            with clone.gradebook() as gb:
                nb = gb.find_submission_notebook(restored, restored, "carol")
                carol_score = sum(g.score or 0.0 for g in nb.grades if g.cell_type == "code")
            assert carol_score == expected[restored], (
                f"stock autograde gave the reference 07 with results_test deleted {carol_score}/{expected[restored]}: "
                "the deleted test cell should be put back and the notebook graded in full")

        if forged_score:
            with clone.gradebook() as gb:
                dave = sum(g.score or 0.0 for g in gb.find_submission_notebook(forged, forged, "dave").grades
                           if g.cell_type == "code")
            assert dave == forged_score[forged], (
                f"stock autograde gave a forger {dave} points in {forged}; his answers earn {forged_score[forged]}")

        with open(root / "build" / "stock-grades.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        pairs = sorted((r["assignment"], r["student_id"]) for r in rows)
        want = sorted((n, s) for n in names for s in [*STUDENTS, *(["carol"] if restored in names else []),
                                                      *(["dave"] if forged_score else [])])
        assert pairs == want, f"`nbgrader export` rows (assignment, student): {pairs}, expected {want}"
        for r in rows:
            goal = expected[r["assignment"]] if r["student_id"] == "alice" or (
                r["student_id"] == "carol" and r["assignment"] == restored) else 0.0
            if r["student_id"] == "dave":
                goal = forged_score.get(r["assignment"], 0.0)
            assert abs(float(r["raw_score"]) - goal) < 1e-9, (
                f"export: {r['student_id']}/{r['assignment']} raw_score {r['raw_score']}, expected {goal}")
            if r["assignment"] == "03_training":
                assert r["duedate"].startswith("2026-12-01 17:00:00"), f"export: 03_training due {r['duedate']!r}"

        # the instructor grading by hand sees the student's figures: in the autograded notebook and the feedback
        drawn = {name: sum("image/png" in out.get("data", {})
                           for cell in nbformat.read(source_notebook(name, root), as_version=4).cells
                           if cell.cell_type == "code" for out in cell.get("outputs", []))
                 for name in names}
        for name in names:
            graded = nbformat.read(root / "autograded" / "alice" / name / f"{name}.ipynb", as_version=4)
            images = sum("image/png" in out.get("data", {}) for cell in graded.cells if cell.cell_type == "code"
                         for out in cell.get("outputs", []))
            page = (root / "feedback" / "alice" / name / f"{name}.html").read_text()
            assert images == drawn[name] and page.count("data:image/png") == images, (
                f"alice's autograded {name} holds {images} figure(s), its feedback page "
                f"{page.count('data:image/png')}; the instructor notebook draws {drawn[name]}")
        for student in STUDENTS:
            for name in names:
                page = root / "feedback" / student / name / f"{name}.html"
                assert page.is_file(), f"`nbgrader generate_feedback {name}` wrote no {page.relative_to(root)}"
                text = page.read_text()
                assert "BEGIN HIDDEN TESTS" not in text, f"{page.relative_to(root)} shows hidden tests"
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                                check=True, capture_output=True, text=True).stdout
        assert status == "", f"the stock nbgrader commands changed files of the clone (`git status --porcelain`):\n{status}"
        clone.stage("stock autograde + feedback + export (every section)", t0)
