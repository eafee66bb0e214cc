"""Every submission counts (issue 28): the class grader grades the latest submission, keeps the
grades given by hand to written answers that did not change, marks a late submission late
(gradebook, grades.csv, feedback) with nbgrader's late-submission machinery, and its reasons
survive `nbgrader generate_feedback --force`. One section (01), two students, graded twice."""
import csv
import datetime
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from mlpcourse.answers import catalogue
from mlpcourse.classroom import grade_class
from mlpcourse.class_reports import export_csv
from mlpcourse.course import nbgrader_meta, source_notebook
from mlpcourse.submissions import answered, reference_answers, write_submission
from classroom_support import png_figure

NAME = "01_dataset"
DUE = datetime.datetime(2026, 12, 1, 17, 0, 0)
LATE_BY = 86_400 + 1_234  # seconds after the due date of the late submission


def _stamp(when, student, course):
    (course / "submitted" / student / NAME / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


def _written_id(nb):
    return next(nbgrader_meta(c)["grade_id"] for c in nb.cells
                if c.cell_type == "markdown" and nbgrader_meta(c).get("grade"))


MARK = "handed in by ontime: 1.2345 s per step"
SCRIPT = "<script>alert('ontime')</script>"




def _with_outputs(nb):
    """The student ran the notebook: every ungraded code cell carries outputs (a log line, a
    figure, and HTML that must never reach a page)."""
    from nbformat.v4 import new_output

    for cell in nb.cells:
        if cell.cell_type == "code" and not nbgrader_meta(cell).get("grade_id"):
            cell.outputs = [new_output("stream", name="stdout", text=MARK + "\n"),
                            new_output("display_data", data={"image/png": png_figure(2, 1), "text/plain": "<Figure>"}),
                            new_output("display_data", data={"text/html": SCRIPT})]
    return nb


def _csv(report, path):
    with open(export_csv(report, path), newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from classroom_support import make_course

    course = tmp_path_factory.mktemp("resubmit") / "course"
    make_course(course)
    src = nbformat.read(source_notebook(NAME), as_version=4)
    rel = nbformat.read(course / "release" / NAME / f"{NAME}.ipynb", as_version=4)
    answers = reference_answers(src)
    written = _written_id(src)
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        gb.update_or_create_assignment(NAME, duedate=DUE)
    write_submission(course, "ontime", {NAME: _with_outputs(answered(rel, answers))},
                     files={NAME: {"notes.txt": b"mine", "names.txt": b"not read, not flagged"}})
    write_submission(course, "late", {NAME: answered(rel, answers)})
    _stamp(DUE - datetime.timedelta(hours=1), "ontime", course)
    _stamp(DUE - datetime.timedelta(hours=2), "late", course)
    first = grade_class(course, workers=1, progress=False, assignments=[NAME])
    # the instructor grades both written answers by hand
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        for student in ("ontime", "late"):
            grade = gb.find_grade(written, NAME, NAME, student)
            grade.manual_score = 1.0
        gb.db.commit()
    # "late" hands in again after the due date: a mistake in one answer and a new written answer
    mistake = next(m for m in catalogue()[NAME][0] if m.cell == "vocab")
    changed = dict(answers, vocab=mistake.apply(answers["vocab"]), **{written: answers[written] + "\n\nAnd more."})
    write_submission(course, "late", {NAME: answered(rel, changed)})
    _stamp(DUE + datetime.timedelta(seconds=LATE_BY), "late", course)
    second = grade_class(course, workers=1, progress=False, assignments=[NAME])
    return {"course": course, "first": first, "second": second, "written": written, "lost": mistake.loses}


def test_the_latest_submission_is_graded(graded, tmp_path):
    before, after = _csv(graded["first"], tmp_path / "a.csv"), _csv(graded["second"], tmp_path / "b.csv")
    assert float(before["late"]["auto_score"]) == float(before["late"]["auto_max"]), before["late"]
    with Gradebook(f"sqlite:///{graded['course']}/gradebook.db") as gb:
        lost = {g.name: g.auto_score for g in gb.find_submission_notebook(NAME, NAME, "late").grades
                if g.name in graded["lost"]}
    assert lost and all(v == 0.0 for v in lost.values()), f"the resubmitted mistake should lose {graded['lost']}: {lost}"
    assert float(after["late"]["auto_score"]) < float(after["late"]["auto_max"])
    assert after["ontime"]["auto_score"] == before["ontime"]["auto_score"]


def test_a_grade_given_by_hand_survives_when_the_answer_did_not_change(graded):
    with Gradebook(f"sqlite:///{graded['course']}/gradebook.db") as gb:
        kept = gb.find_grade(graded["written"], NAME, NAME, "ontime")
        changed = gb.find_grade(graded["written"], NAME, NAME, "late")
        assert kept.manual_score == 1.0 and not kept.needs_manual_grade, "an unchanged written answer keeps its grade"
        assert changed.manual_score == 1.0 and changed.needs_manual_grade, \
            "a changed written answer keeps the old grade but is flagged for grading again"


def test_a_late_submission_is_marked_late_in_the_gradebook_csv_and_feedback(graded, tmp_path):
    rows = _csv(graded["second"], tmp_path / "grades.csv")
    assert float(rows["late"]["seconds_late"]) == LATE_BY and float(rows["ontime"]["seconds_late"]) == 0
    assert float(rows["late"]["late_penalty"]) == 0.0  # the course's LateSubmissionPlugin.penalty_method: none
    with Gradebook(f"sqlite:///{graded['course']}/gradebook.db") as gb:
        assert gb.find_submission(NAME, "late").total_seconds_late == LATE_BY
    page = (graded["course"] / "feedback" / "late" / NAME / f"{NAME}.html").read_text()
    assert f"Submitted late: {LATE_BY} seconds after the due date" in page
    assert "Submitted late" not in (graded["course"] / "feedback" / "ontime" / NAME / f"{NAME}.html").read_text()


def test_feedback_names_each_part_with_its_points(graded):
    page = (graded["course"] / "feedback" / "ontime" / NAME / f"{NAME}.html").read_text()
    src = nbformat.read(source_notebook(NAME), as_version=4)
    headings = [line for c in src.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("### Part ")]
    assert headings
    for heading in headings:
        letter = heading.split()[2]
        assert f"Part {letter} · " in page, f"the feedback should name Part {letter}"
    assert f"<title>Feedback · {NAME} · ontime</title>" in page
    assert "Test cell" not in page and "Written response" not in page


def test_the_reasons_survive_generate_feedback_force(graded):
    course = graded["course"]
    report = course / "feedback" / "ontime" / NAME / "grading_report.txt"
    assert "notes.txt" in report.read_text()
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    run = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_feedback", NAME, "--force"],
                         cwd=course, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "notes.txt" in report.read_text(), "generate_feedback --force should copy the reasons back"
    assert "not recognized by" not in run.stderr, run.stderr[-2000:]
    assert (course / "feedback" / "late" / NAME / f"{NAME}.html").is_file()


def test_ungraded_cells_show_the_students_own_outputs_labelled_and_points_do_not_depend_on_them(graded, tmp_path):
    course = graded["course"]
    nb = nbformat.read(course / "autograded" / "ontime" / NAME / f"{NAME}.ipynb", as_version=4)
    shown = [c for c in nb.cells if c.cell_type == "code" and not nbgrader_meta(c).get("grade_id")
             and "injected-parameters" not in c.metadata.get("tags", [])]
    assert shown
    for cell in shown:
        texts = [o.get("text", "") for o in cell.outputs if o.output_type == "stream"]
        data = [o.get("data", {}) for o in cell.outputs if o.output_type == "display_data"]
        assert "as handed in, not re-run" in data[0]["text/plain"], cell.source[:60]
        assert MARK + "\n" in texts and any("image/png" in d for d in data)
        assert not any("text/html" in d and SCRIPT in d["text/html"] for d in data), "a student's HTML is never shown"
    page = (course / "feedback" / "ontime" / NAME / f"{NAME}.html").read_text()
    assert "as handed in, not re-run" in page and MARK in page and SCRIPT not in page
    row = _csv(graded["second"], tmp_path / "grades.csv")["ontime"]
    assert float(row["auto_score"]) == float(row["auto_max"])
    report = (course / "feedback" / "ontime" / NAME / "grading_report.txt").read_text()
    assert "notes.txt" in report and "names.txt" not in report, "names.txt is the data, not an extra file"


def test_stock_autograde_reports_no_change_in_untouched_locked_cells(graded):
    """nbgrader stores a test cell's checksum with its hidden tests in (nbgrader #1961); an honest
    submission holds them as released, and RestoreCells keeps nbgrader from calling that a change."""
    course = graded["course"]
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    run = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", NAME, "--student", "ontime",
                          "--force"], cwd=course, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Autograding" in run.stderr and "has changed!" not in run.stderr, run.stderr[-3000:]
