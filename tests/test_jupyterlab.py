"""The round trip of one section as people do it in JupyterLab, in a real browser.

A scratch course (section 01) and an nbgrader exchange in temporary folders. The instructor
releases 01 with nbgrader; the student, in her own JupyterLab (her Jupyter folder made by
`python -m mlpcourse student-setup`), fetches it in the Assignments tab, answers a Part, runs the
notebook, validates and submits (and first validates the untouched notebook: Validate names its
Parts); the instructor collects, grades with the class grader, gives
points to the written answer in formgrader, generates and releases feedback; the student fetches
the feedback and reads it. Headless Chromium (Debian's, driven by Playwright); both servers listen on
127.0.0.1 and are stopped by the test. Screenshots: build/screenshots/.

Alone: .venv/bin/python -m pytest tests/test_jupyterlab.py   (after `make setup`)
"""
import html
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from mlpcourse.assignments import scratch_course
from mlpcourse.course import (COURSE_ROOT as ROOT, HIDDEN_TESTS, graded_cells, region_bodies,
                              source_notebook, written_points)
from mlpcourse.feedback import late_text, part_names
from mlpcourse.parts import label as part_label, parts_of_cells
from mlpcourse.student_setup import set_up
from mlpcourse.submissions import answered, reference_answers

SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
SECTION = "01_dataset"
TYPED = "contexts"  # the Part the student answers in the browser; the others are answered on disk
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on 127.0.0.1 in its own process group, for one person."""

    def __init__(self, name, root, home, env):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / f"jupyterlab-{name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
             "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}"],
            cwd=root, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"JupyterLab ({name}) exited:\n{self.log.read_text()[-3000:]}"
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"JupyterLab ({name}) did not listen within 60 s:\n{self.log.read_text()[-3000:]}")

    def stop(self):
        """Stop the server, its kernels and anything else in its process group."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


def _person_env(home, exchange, names, user=None):
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_DB_URL", "JUPYTERHUB_USER")}
    env.update({"HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
                "JUPYTER_DATA_DIR": str(home / ".local" / "share" / "jupyter"),
                "JUPYTER_RUNTIME_DIR": str(home / ".runtime"), "NBGRADER_EXCHANGE": str(exchange),
                "MAKEMORE_NAMES": str(names), "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")})
    if user:
        env.update({"USER": user, "LOGNAME": user})
    # no "get Jupyter news?" toast over the screenshots
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    return env


def _run(args, cwd, env, timeout=300):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def _hidden_lines(nb):
    """The lines of the hidden tests of a notebook (stripped, the non-trivial ones)."""
    lines = []
    for cell in nb.cells:
        for block in region_bodies(HIDDEN_TESTS, cell.source):
            lines += [l.strip() for l in block.splitlines() if len(l.strip()) > 12]
    return lines


def _figures(nb):
    """How many figures (PNG outputs) a notebook holds."""
    return sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for out in cell.get("outputs", []))


def feedback_text(page, section):
    """The text of the feedback page JupyterLab shows in its HTML viewer, once the page is in it (the
    viewer loads it in a frame of its own, later than the tab opens; on a busy machine much later)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    frame = page.frame_locator(".jp-HTMLViewer iframe, iframe").first
    try:
        frame.locator("body", has_text=f"{section}: ").wait_for(timeout=120_000)
    except PlaywrightTimeout:
        pass  # the caller's assertion shows what the frame holds
    return frame.locator("body").inner_text()


@pytest.fixture
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def test_round_trip_in_jupyterlab(tmp_path, browser):
    t_start = time.monotonic()
    SHOTS.mkdir(parents=True, exist_ok=True)
    course = scratch_course([SECTION], root=tmp_path / "course")
    names = course / "data" / "names.txt"
    exchange = tmp_path / "exchange"
    instructor = _person_env(tmp_path / "instructor", exchange, names)
    nbgrader = [sys.executable, "-m", "nbgrader"]
    source = nbformat.read(source_notebook(SECTION, course), as_version=4)
    auto_max, written_max = sum(graded_cells(source).values()), written_points(source)
    assert written_max > 0, f"{SECTION} has no written answer to grade in formgrader"

    # the instructor: the student on the roster, the due date, the release
    _run([*nbgrader, "db", "student", "add", "alice", "--first-name=Alice", "--last-name=Lovelace"], course, instructor)
    _run([*nbgrader, "db", "assignment", "add", SECTION, "--duedate=2099-01-01 17:00:00 UTC"], course, instructor)
    _run([*nbgrader, "release_assignment", SECTION], course, instructor)

    # the student's Jupyter, as the course sets it up; every process of this test runs as the same
    # OS user, so her config says who she is (on a real machine nbgrader takes the login name)
    home = tmp_path / "alice"
    set_up(home / ".jupyter")
    with (home / ".jupyter" / "nbgrader_config.py").open("a") as f:
        f.write('\nc.CourseDirectory.student_id = "alice"\n')
    student = _person_env(home, exchange, names, user="alice")
    labs = []
    try:
        lab = Lab("student", home, home, student)
        labs.append(lab)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)

        def assignments():
            page.goto(f"{lab.url}/lab")
            page.wait_for_selector("#jp-main-dock-panel")
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
            items = [t for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t.strip()]
            assert items == ["Assignment List"], f"the student's Nbgrader menu shows {items}: only the Assignment List"
            page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
            page.wait_for_selector("#assignments")

        # 1. fetch
        assignments()
        page.locator("#released_assignments_list .list_item", has_text=SECTION).locator("button", has_text="Fetch").click()
        page.wait_for_selector("#fetched_assignments_list .list_item")
        page.screenshot(path=str(SHOTS / "1-student-fetched.png"))
        fetched = home / SECTION / f"{SECTION}.ipynb"
        assert fetched.is_file(), f"Fetch put no {fetched.relative_to(tmp_path)}"
        assert page.request.get(f"{lab.url}/formgrader").status == 404, "the student's server serves formgrader"

        # 1b. Validate of the untouched notebook speaks in Parts: every unanswered Part named, the
        # first answer listed first, no traceback (student/nbgrader_parts.py, set up by student-setup)
        untouched = nbformat.read(fetched, as_version=4)
        unanswered = [(cell, part) for cell, part in zip(untouched.cells, parts_of_cells(untouched.cells))
                      if cell.metadata.get("nbgrader", {}).get("solution")]
        page.goto(f"{lab.url}/lab/tree/{SECTION}/{SECTION}.ipynb")
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        page.locator("jp-button.validate-button").first.click()
        dialog = page.wait_for_selector(".jp-Dialog", timeout=120_000)
        said = dialog.inner_text()
        page.screenshot(path=str(SHOTS / "1b-student-validate-untouched.png"))
        assert "Success" not in said and "The following cell failed:" in said, f"Validate of the untouched {SECTION}:\n{said[:3000]}"
        first = said.split("The following cell failed:", 2)[1]
        assert first.strip().startswith(unanswered[0][0].source.strip().splitlines()[0]), (
            f"the first failure Validate lists is not the first answer:\n{first[:1500]}")
        for cell, part in unanswered:
            if cell.cell_type == "code":
                assert f"{part_label(part)} ({part[1]}): not answered yet." in said, f"Validate does not name {part_label(part)}:\n{said[:4000]}"
            else:
                assert cell.source.strip() in said and f"(Part {part[0]}" in cell.source, f"no written Part {part[0]}:\n{said[:4000]}"
        assert "Traceback" not in said, f"Validate of an untouched notebook shows tracebacks:\n{said[:4000]}"
        cascade = page.locator(".jp-Dialog pre", has_text="and this cell needs it").first
        assert cascade.count(), f"no cell of the untouched {SECTION} says it needs an unanswered Part:\n{said[:4000]}"
        cascade.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "1c-student-validate-untouched-cascade.png"))
        page.locator(".jp-Dialog button", has_text="Ok").click()

        # 2. the earlier Parts were answered on an earlier day; the last one is typed now
        answers = reference_answers(source)
        typed = answers.pop(TYPED)
        nbformat.write(answered(nbformat.read(fetched, as_version=4), answers), fetched)
        index = next(i for i, c in enumerate(nbformat.read(fetched, as_version=4).cells)
                     if c.metadata.get("nbgrader", {}).get("grade_id") == TYPED)
        page.goto(f"{lab.url}/lab/tree/{SECTION}/{SECTION}.ipynb")
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(typed)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        page.wait_for_function("""() => { const p = [...document.querySelectorAll('.jp-InputPrompt')]
                                          .map(e => e.textContent.trim());
                                          return p.length > 0 && !p.some(t => t.includes('*') || t === '[ ]:'); }""",
                               timeout=120_000)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
        assert errors == 0, f"running the answered notebook in JupyterLab left {errors} error output(s)"
        cell.scroll_into_view_if_needed()
        page.keyboard.press("Control+s")
        page.wait_for_function("() => !document.querySelector('.jp-mod-current .jp-mod-dirty')")
        page.screenshot(path=str(SHOTS / "2-student-answered.png"))

        # 3. validate, from the notebook's toolbar
        t0 = time.monotonic()
        page.locator("jp-button.validate-button").first.click()
        dialog = page.wait_for_selector(".jp-Dialog", timeout=120_000)
        validate_seconds = time.monotonic() - t0
        text = dialog.inner_text()
        page.screenshot(path=str(SHOTS / "3-student-validate.png"))
        assert "Success! Your notebook passes all the tests." in text, f"Validate said:\n{text[:3000]}"
        page.locator(".jp-Dialog button", has_text="Ok").click()

        # 4. submit
        assignments()
        page.locator("#fetched_assignments_list .list_item", has_text=SECTION).locator("button", has_text="Submit").first.click()
        page.wait_for_selector("#submitted_assignments_list .list_item")
        page.screenshot(path=str(SHOTS / "4-student-submitted.png"))

        # 5. the instructor collects and grades the class (the class grader takes submitted/ as it lies)
        _run([*nbgrader, "collect", "--update", SECTION], course, instructor)
        stamp = (course / "submitted" / "alice" / SECTION / "timestamp.txt").read_text().strip()
        _run([sys.executable, "-c", "import sys; from mlpcourse.classroom import grade_class; "
              "grade_class(course_root=sys.argv[1], assignments=[sys.argv[2]], progress=False, workers=1)",
              str(course), SECTION], course, instructor, timeout=600)
        db = f"sqlite:///{course / 'gradebook.db'}"
        with Gradebook(db) as gb:
            submission = gb.find_submission(SECTION, "alice")
            assert submission.timestamp is not None and str(submission.timestamp).startswith(stamp[:19]), (
                f"the gradebook's timestamp {submission.timestamp} is not the submission's {stamp}")
            notebook_id = gb.find_submission_notebook(SECTION, SECTION, "alice").id
            scores = {g.name: g.auto_score for g in gb.find_submission_notebook(SECTION, SECTION, "alice").grades}
        got = sum(v or 0 for k, v in scores.items() if k in graded_cells(source))
        assert got == auto_max, f"the class grader gave alice {got}/{auto_max} automatic points: {scores}"
        drawn = _figures(source)
        kept = _figures(nbformat.read(course / "autograded" / "alice" / SECTION / f"{SECTION}.ipynb", as_version=4))
        assert drawn > 0 and kept == drawn, f"alice's autograded notebook keeps {kept} of the {drawn} figure(s) {SECTION} draws"

        # 6. formgrader: names and timestamps, and the written answer graded by hand
        labs.append(Lab("instructor", course, tmp_path / "instructor", instructor))
        grader = labs[-1]
        page.goto(f"{grader.url}/formgrader/manage_submissions/{SECTION}")
        page.wait_for_selector("text=Lovelace, Alice")
        listing = page.inner_text("body")
        assert stamp[:19] in listing, f"formgrader lists no timestamp {stamp[:19]} for alice:\n{listing[:1500]}"
        page.screenshot(path=str(SHOTS / "5-instructor-submissions.png"))
        page.goto(f"{grader.url}/formgrader/submissions/{notebook_id}/?index=0")
        written = [c.metadata["nbgrader"]["grade_id"] for c in source.cells
                   if c.metadata.get("nbgrader", {}).get("solution") and c.metadata["nbgrader"].get("grade")]
        box = page.locator(f"#{written[0]}")
        box.scroll_into_view_if_needed()
        box.fill(f"{written_max:g}")
        box.press("Enter")
        page.locator(f"#{written[0]}-comment").fill("Both right: one example per character; most contexts never occur.")
        page.locator(f"#{written[0]}-comment").press("Tab")
        page.wait_for_timeout(1500)
        box.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "6-instructor-formgrader.png"))
        # the cells nobody grades show alice's own run, as she handed it in
        label = page.locator("text=Output as handed in, not re-run")
        assert label.count() > 0, "formgrader does not show alice's own outputs"
        label.last.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "6b-instructor-own-figure.png"))
        with Gradebook(db) as gb:
            manual = {g.name: g.manual_score for g in gb.find_submission_notebook(SECTION, SECTION, "alice").grades}
        assert manual[written[0]] == written_max, f"formgrader did not save the written score: {manual}"

        # 7. feedback with the hand-given points, released; the student fetches and reads it
        _run([*nbgrader, "generate_feedback", SECTION, "--force"], course, instructor)
        _run([*nbgrader, "release_feedback", SECTION], course, instructor)
        assignments()
        page.locator("#submitted_assignments_list .list_item", has_text=SECTION).locator(
            "button", has_text="Fetch Feedback").first.click()
        page.wait_for_selector("#submitted_assignments_list a:has-text('view feedback')")
        page.locator("#submitted_assignments_list a", has_text="view feedback").first.click()
        page.locator(".jp-DirListing-item", has_text=f"{SECTION}.html").dblclick()
        shown = feedback_text(page, SECTION)
        page.screenshot(path=str(SHOTS / "7-student-feedback.png"))
        total = auto_max + written_max
        assert f"{SECTION}: {total:.1f} / {total:.1f} points" in shown, (
            f"the feedback the student sees does not show {total:.1f} / {total:.1f}:\n{shown[:800]}")
        parts = part_names(source)
        assert f"{parts[written[0]]} (written) — {written_max:.1f} / {written_max:.1f}" in shown, shown[:1500]
        for gid, points in graded_cells(source).items():
            assert f"{parts[gid]} — {points:.1f} / {points:.1f}" in shown, f"no Part line for {gid}:\n{shown[:1500]}"
        pages = list((home / SECTION / "feedback").rglob(f"{SECTION}.html"))
        assert len(pages) == 1, f"fetched feedback pages: {pages}"
        assert pages[0].read_text().count("data:image/png") == drawn, "the feedback does not show alice's figures"
        raw = html.unescape(pages[0].read_text())
        leaked = [line for line in _hidden_lines(source) if line in raw or line in shown]
        assert "BEGIN HIDDEN TESTS" not in raw and not leaked, f"the student's feedback shows hidden tests: {leaked[:3]}"

        # 8. after grading, the due date has passed and alice submits again: the instructor collects
        # the latest, regrades; her written answer did not change, so its grade by hand stays
        with Gradebook(db) as gb:
            gb.update_or_create_assignment(SECTION, duedate="2026-01-01 17:00:00 UTC")
        assignments()
        page.locator("#fetched_assignments_list .list_item", has_text=SECTION).locator("button", has_text="Submit").first.click()
        page.wait_for_function("() => document.querySelectorAll('#submitted_assignments_list .list_item').length > 1")
        page.screenshot(path=str(SHOTS / "8-student-resubmitted-late.png"))
        _run([*nbgrader, "collect", "--update", SECTION], course, instructor)
        late_stamp = (course / "submitted" / "alice" / SECTION / "timestamp.txt").read_text().strip()
        assert late_stamp != stamp, "collect --update kept the first submission"
        _run([sys.executable, "-c", "import sys; from mlpcourse.classroom import grade_class; "
              "grade_class(course_root=sys.argv[1], assignments=[sys.argv[2]], progress=False, workers=1)",
              str(course), SECTION], course, instructor, timeout=600)
        with Gradebook(db) as gb:
            submission = gb.find_submission(SECTION, "alice")
            assert str(submission.timestamp).startswith(late_stamp[:19]), "the regrade is not of the latest submission"
            assert submission.total_seconds_late > 0, "a submission after the due date is not marked late"
            seconds_late = submission.total_seconds_late
            kept = gb.find_grade(written[0], SECTION, SECTION, "alice")
            assert kept.manual_score == written_max and not kept.needs_manual_grade, "the grade given by hand was lost"
        page.goto(f"{grader.url}/formgrader/manage_submissions/{SECTION}")
        page.wait_for_selector("text=Lovelace, Alice")
        page.screenshot(path=str(SHOTS / "9-instructor-late-submission.png"))
        # formgrader's page of the submission says how late it was (mlpcourse.feedback.MarkLate)
        with Gradebook(db) as gb:
            notebook_id = gb.find_submission_notebook(SECTION, SECTION, "alice").id
        page.goto(f"{grader.url}/formgrader/submissions/{notebook_id}/?index=0")
        late_line = page.locator("text=Submitted late:").first
        late_line.wait_for()
        assert late_text(seconds_late) in late_line.inner_text(), f"formgrader says: {late_line.inner_text()}"
        page.screenshot(path=str(SHOTS / "9b-instructor-late-submission-page.png"))
        _run([*nbgrader, "generate_feedback", SECTION, "--force"], course, instructor)
        late_page = (course / "feedback" / "alice" / SECTION / f"{SECTION}.html").read_text()
        assert f"Submitted late: {int(seconds_late)} seconds after the due date" in late_page
    finally:
        for lab in labs:
            lab.stop()
    for lab in labs:
        assert lab.proc.poll() is not None, "a JupyterLab server is still running"
    print(f"\nround trip in JupyterLab: {time.monotonic() - t_start:.0f} s; Validate {validate_seconds:.1f} s; "
          f"screenshots in {SHOTS.relative_to(ROOT)}")
