"""The course's JupyterHub, run as root (one module: its tests add and remove Unix accounts, which
must not run at once on two pytest workers).

- student-setup for a student leaves all of their ~/.jupyter theirs (issue 28, 4);
- the users' servers run the course's own Python, copied where users cannot read it, used where it
  is when they can (issue 31);
- the class on the hub, in a real browser (issue 31):
  A class of three throwaway Unix accounts (an instructor, two students; a unique prefix), made from a
  roster by `python -m mlpcourse hub roster`'s code, on a hub of its own (JupyterHub, PAM logins,
  configurable-http-proxy, each user's server running as that user; everything on 127.0.0.1). The
  instructor logs in and releases 01_dataset in formgrader; both students log in, fetch it in the
  Assignments tab, answer it, Validate it from the notebook and submit it; a student opening the
  instructor's formgrader or the other student's server is refused; the instructor collects in
  formgrader, grades the class with `python -m mlpcourse grade` as themselves (as in a terminal of
  their server: a scratch folder of their own, the sandbox showing the course's packages), grades
  both written answers in formgrader (full points for one, none for the other), generates and
  releases feedback there; each student fetches feedback and reads their own points. Teardown removes the accounts, their
  homes and processes, the exchange and the hub's state even when the test fails.
  Screenshots: build/screenshots/hub-*.png.

Alone: .venv/bin/python -m pytest -p no:cacheprovider -s tests/test_hub.py   (as root)
"""
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from mlpcourse import hub
from mlpcourse.course import COURSE_ROOT as ROOT, graded_cells, source_notebook, written_points
from mlpcourse.grade_notebook import grading_folder
from mlpcourse.hub_python import INTERPRETER, USERS_PYTHON, needs_copy, readable_by_all, users_python
from mlpcourse.hub_roster import add_class, remove_class
from mlpcourse.submissions import answered, reference_answers
from test_jupyterlab import CHROMIUM, SHOTS, browser, feedback_text  # noqa: F401 (browser: Debian's chromium, a fixture)


pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the hub tests create Unix accounts: run them as root (CI does)")
# the users' servers run the course's code and packages from this checkout (mlpcourse.hub.prepare says so too)
users_can_read_the_course = pytest.mark.skipif(
    not readable_by_all(ROOT), reason=f"the hub's users cannot read this checkout ({ROOT}); its servers run from it")
SECTION = "01_dataset"
WAIT = 180_000  # ms: a busy two-core machine starts a JupyterLab server slowly


def _as(user, args, cwd, env, timeout=600):
    """Run a command as a Unix user (runuser), with a login's environment and the users' Python."""
    entry = pwd.getpwnam(user)
    base = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, "PATH": env["PATH"],
            "NBGRADER_EXCHANGE": env["NBGRADER_EXCHANGE"], "MAKEMORE_NAMES": str(ROOT / "data" / "names.txt"),
            "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    proc = subprocess.run(["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in base.items()], *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return proc


def _ok(proc):
    assert proc.returncode == 0, f"{' '.join(proc.args[-6:])} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_student_setup_as_root_leaves_the_folder_to_the_student():
    """Issue 28, 4: root runs student-setup for a student; the student owns all of ~/.jupyter and
    JupyterLab can save settings and workspaces there (it logged 'Permission denied' when root owned it)."""
    user = f"mh{secrets.token_hex(3)}s"
    subprocess.run(["useradd", "--create-home", user], check=True)
    try:
        entry = pwd.getpwnam(user)
        jupyter = Path(entry.pw_dir) / ".jupyter"
        _ok(subprocess.run([sys.executable, "-m", "mlpcourse", "student-setup", str(jupyter)],
                           capture_output=True, text=True))
        paths = [jupyter, *jupyter.rglob("*")]
        assert len(paths) >= 5, f"student-setup wrote only {paths}"
        wrong = [f"{p} ({p.stat().st_uid}:{p.stat().st_gid})" for p in paths
                 if (p.stat().st_uid, p.stat().st_gid) != (entry.pw_uid, entry.pw_gid)]
        assert not wrong, f"not {user}'s ({entry.pw_uid}:{entry.pw_gid}): {wrong}"
        env = {"PATH": "/usr/bin:/bin", "NBGRADER_EXCHANGE": "/nonexistent"}
        for folder in ("lab/workspaces", "lab/user-settings/@jupyterlab/apputils-extension"):
            _ok(_as(user, ["mkdir", "-p", str(jupyter / folder)], "/", env))
        _ok(_as(user, ["touch", str(jupyter / "nbgrader_config.py")], "/", env))
    finally:
        subprocess.run(["userdel", "--remove", user], capture_output=True)


@users_can_read_the_course
def test_users_run_the_course_python():
    """Issue 31: the users' servers run the course's own interpreter (mlpcourse/hub_python.py), not
    merely one of the same minor version. Debian's 3.11.2 under the course's packages broke soupsieve's
    selectors and with them formgrader's grading page; here a user who is not root runs the users'
    Python, gets the course's exact version and the selector formgrader's page needs."""
    import jupyterhub

    state = Path(tempfile.mkdtemp(prefix="mlpcourse-hubpython-"))
    try:
        state.chmod(0o755)
        python = users_python(state, Path(jupyterhub.__file__).resolve().parent.parent)
        assert (state / INTERPRETER).exists() == bool(needs_copy()), "copied when not needed, or not when needed"
        probe = ("import sys; from bs4 import BeautifulSoup; "
                 "print(sys.version); print(BeautifulSoup('<div class=\"a\"><p>x</p></div>', 'html.parser')"
                 ".select('div.a > p'))")
        user = f"mh{secrets.token_hex(3)}p"
        subprocess.run(["useradd", "--no-create-home", user], check=True)
        try:
            ran = _ok(_as(user, [str(python), "-c", probe], "/", {"PATH": "/usr/bin:/bin", "NBGRADER_EXCHANGE": "/nonexistent"}))
        finally:
            subprocess.run(["userdel", user], capture_output=True)
        version, selected = ran.stdout.strip().split("\n")
        assert version == sys.version, f"the users' Python is {version}, the course's {sys.version}"
        assert selected == "[<p>x</p>]", selected
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_a_system_python_is_used_where_it_is():
    """On a machine without pyenv the course's .venv rests on the system's Python: users can run that
    one where it is, so the hub makes no copy, and a user's Python is the system's exact version."""
    system = Path("/usr/bin/python3")
    if not system.is_file():
        pytest.skip("no /usr/bin/python3 on this machine")
    work = Path(tempfile.mkdtemp(prefix="mlpcourse-hubpython-"))
    try:
        work.chmod(0o755)
        _ok(subprocess.run([str(system), "-m", "venv", "--without-pip", str(work / "course-venv")],
                           capture_output=True, text=True))
        course_python = work / "course-venv" / "bin" / "python"
        (work / "state").mkdir(mode=0o755)
        (work / "packages").mkdir(mode=0o755)
        built = _ok(subprocess.run(
            [str(course_python), "-c", "import sys; from mlpcourse.hub_python import users_python; "
             "print(users_python(sys.argv[1], sys.argv[2])); print(sys.version)", str(work / "state"),
             str(work / "packages")], cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True)).stdout.strip().split("\n")
        python, version = built[0], built[1]
        assert not (work / "state" / INTERPRETER).exists(), "the hub copied a Python every user can read"
        user = f"mh{secrets.token_hex(3)}q"
        subprocess.run(["useradd", "--no-create-home", user], check=True)
        try:
            ran = _ok(_as(user, [python, "-c", "import sys; print(sys.version)"], "/",
                          {"PATH": "/usr/bin:/bin", "NBGRADER_EXCHANGE": "/nonexistent"}))
        finally:
            subprocess.run(["userdel", user], capture_output=True)
        assert ran.stdout.strip() == version, f"the users' Python is {ran.stdout.strip()}, the course's {version}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _processes_of(uids):
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid = next(int(l.split()[1]) for l in status.read_text().splitlines() if l.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if uid in uids:
            found.append(int(status.parent.name))
    return found


@pytest.fixture
def classroom():
    """The class's accounts (passwords set), the instructor's course and the hub; all removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix="mlpcourse-hubtest-"))
    work.chmod(0o755)  # the users' servers read the hub's state folder and write the exchange in it
    tag = secrets.token_hex(3)
    people = {"instructor": f"hb{tag}i", "ada": f"hb{tag}a", "bob": f"hb{tag}b"}
    roster = work / "users.csv"
    roster.write_text("username,first_name,last_name,role\n"
                      f"{people['instructor']},Ida,Instructor,instructor\n"
                      f"{people['ada']},Ada,Lovelace,student\n{people['bob']},Bob,Hopper,student\n")
    passwords = {name: secrets.token_urlsafe(12) for name in people.values()}
    proc, uids = None, []
    try:
        course = add_class(roster, [SECTION])
        uids = [pwd.getpwnam(name).pw_uid for name in people.values()]
        for name in people.values():  # no "get Jupyter news?" toast over the screenshots
            entry = pwd.getpwnam(name)
            folder = Path(entry.pw_dir) / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
            for path in [Path(entry.pw_dir) / ".jupyter", *(Path(entry.pw_dir) / ".jupyter").rglob("*")]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run(["chpasswd"], input="".join(f"{u}:{p}\n" for u, p in passwords.items()), text=True, check=True)
        port = hub.free_port()
        log = work / "hub.log"
        proc = hub.start(port, work / "state", exchange=work / "exchange", log=log.open("w"))
        hub.wait_until_up(proc, port, timeout=180)
        yield {"url": f"http://127.0.0.1:{port}", "people": people, "passwords": passwords, "course": course,
               "work": work, "log": log}
    finally:
        if proc is not None:
            hub.stop(proc)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the proxy, if the hub left it behind
            except ProcessLookupError:
                pass
        remove_class(roster)  # kills every process of the accounts, removes them with their homes
        shutil.rmtree(work, ignore_errors=True)
        for uid in uids:
            shutil.rmtree(grading_folder(uid), ignore_errors=True)
        left = _processes_of(set(uids))
        accounts = [name for name in people.values() if _exists(name)]
        assert not left and not accounts and not work.exists() and not any(grading_folder(u).exists() for u in uids), (
            f"left behind: processes {left}, accounts {accounts}, {work if work.exists() else ''}")


def _exists(user):
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


def _log_in(browser, url, user, password):
    """A browser context of its own (its own cookies) logged in through the hub's login page, with the
    user's server started; returns its page, on the user's JupyterLab."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=WAIT)
    page.wait_for_selector("#jp-main-dock-panel", timeout=WAIT)
    return page


def _assignment_list(page, url, user):
    page.goto(f"{url}/user/{user}/lab")
    page.wait_for_selector("#jp-main-dock-panel", timeout=WAIT)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    page.wait_for_selector("#assignments")


def _formgrader_action(page, url, user, action):
    """Press an assignment's button on formgrader's Manage Assignments page (release, collect,
    generate-feedback, release-feedback); return the text of the dialog that reports it."""
    page.goto(f"{url}/user/{user}/formgrader/manage_assignments")
    row = page.locator("tr", has_text=SECTION).first
    row.locator(f"td.{action} a").click()
    dialog = page.wait_for_selector("#success-modal.in, #error-modal.in", timeout=WAIT)
    page.wait_for_function("() => { const m = document.querySelector('.modal.in'); return getComputedStyle(m).opacity === '1' "
                           "&& ['none', 'matrix(1, 0, 0, 1, 0, 0)'].includes(getComputedStyle(m.querySelector('.modal-dialog')).transform); }")  # shown, not sliding in
    text = dialog.inner_text()
    assert dialog.get_attribute("id") == "success-modal", f"formgrader's {action} said:\n{text[:3000]}"
    return text


@users_can_read_the_course
@pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is missing (as root, `make test` installs it)")
def test_class_on_the_hub(classroom, browser):
    """The class on the hub, through its login page, in a real browser (issue 31; the module's docstring)."""
    t_start = time.monotonic()
    SHOTS.mkdir(parents=True, exist_ok=True)
    url, people, passwords, course = (classroom[k] for k in ("url", "people", "passwords", "course"))
    instructor, students = people["instructor"], [people["ada"], people["bob"]]
    source = nbformat.read(source_notebook(SECTION, course), as_version=4)
    auto_max, written_max = sum(graded_cells(source).values()), written_points(source)
    written = [c.metadata["nbgrader"]["grade_id"] for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution") and c.metadata["nbgrader"].get("grade")]
    assert auto_max > 0 and written_max > 0 and len(written) == 1, (auto_max, written_max, written)

    try:
        # 1. the instructor logs in (their server is the course's formgrader) and releases the section
        teacher = _log_in(browser, url, instructor, passwords[instructor])
        _formgrader_action(teacher, url, instructor, "release")
        teacher.screenshot(path=str(SHOTS / "hub-1-instructor-released.png"))

        # 2. each student logs in, fetches, answers (on disk, as their earlier session left it), runs
        # Validate from the notebook's toolbar, and submits
        pages = {}
        answers = reference_answers(source)
        for n, student in enumerate(students, 1):
            page = pages[student] = _log_in(browser, url, student, passwords[student])
            assert page.request.get(f"{url}/user/{student}/formgrader").status == 404, "a student's server serves formgrader"
            _assignment_list(page, url, student)
            page.locator("#released_assignments_list .list_item", has_text=SECTION).locator(
                "button", has_text="Fetch").click()
            page.wait_for_selector("#fetched_assignments_list .list_item")
            if n == 1:
                page.screenshot(path=str(SHOTS / "hub-2-student-fetched.png"))
            fetched = Path(pwd.getpwnam(student).pw_dir) / SECTION / f"{SECTION}.ipynb"
            st = fetched.stat()
            assert st.st_uid == pwd.getpwnam(student).pw_uid, f"{fetched} is not {student}'s own file"
            nbformat.write(answered(nbformat.read(fetched, as_version=4), answers), fetched)
            os.chown(fetched, st.st_uid, st.st_gid)
            page.goto(f"{url}/user/{student}/lab/tree/{SECTION}/{SECTION}.ipynb")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            page.locator("jp-button.validate-button").first.click()
            dialog = page.wait_for_selector(".jp-Dialog", timeout=WAIT)
            text = dialog.inner_text()
            if n == 1:
                page.screenshot(path=str(SHOTS / "hub-3-student-validate.png"))
            assert "Success! Your notebook passes all the tests." in text, f"{student}'s Validate said:\n{text[:3000]}"
            page.locator(".jp-Dialog button", has_text="Ok").click()
            _assignment_list(page, url, student)
            page.locator("#fetched_assignments_list .list_item", has_text=SECTION).locator(
                "button", has_text="Submit").first.click()
            page.wait_for_selector("#submitted_assignments_list .list_item")
            if n == 2:
                page.screenshot(path=str(SHOTS / "hub-4-student-submitted.png"))

        # 3. a student reaches only their own server
        ada, bob = students
        page = pages[ada]
        for target, shot in ((f"/user/{instructor}/formgrader", "hub-5-student-refused-formgrader.png"),
                             (f"/user/{bob}/lab", "hub-6-student-refused-other-server.png")):
            response = page.goto(url + target)
            assert response.status == 403, f"{ada} opening {target}: {response.status} {page.url}"
            page.screenshot(path=str(SHOTS / shot))
        for target in (f"/user/{instructor}/api/contents/{course.name}/gradebook.db", f"/user/{bob}/api/contents/"):
            response = page.request.get(url + target, max_redirects=10)
            assert response.status == 403, f"{ada} asking for {target}: {response.status}"

        # 4. the instructor collects in formgrader and grades the class with the course's grader
        _formgrader_action(teacher, url, instructor, "collect")
        # in a terminal of their own server: as the instructor, on the users' Python, with the server's PATH
        grade = _as(instructor, ["python", "-m", "mlpcourse", "grade", "--course", str(course), "--assignment", SECTION,
                                 "--workers", "1"], course,
                    {"PATH": f"{classroom['work'] / 'state' / USERS_PYTHON / 'bin'}:/usr/bin:/bin",
                     "NBGRADER_EXCHANGE": str(classroom["work"] / "exchange")}, timeout=900)
        _ok(grade)
        scratch = grading_folder(pwd.getpwnam(instructor).pw_uid)
        assert (scratch.stat().st_uid, scratch.stat().st_mode & 0o777) == (pwd.getpwnam(instructor).pw_uid, 0o700), (
            f"the instructor's grading folder {scratch} is not theirs alone")
        db = f"sqlite:///{course / 'gradebook.db'}"
        with Gradebook(db) as gb:
            for student in students:
                scores = {g.name: g.auto_score for g in gb.find_submission_notebook(SECTION, SECTION, student).grades}
                got = sum(v or 0 for k, v in scores.items() if k in graded_cells(source))
                assert got == auto_max, f"the class grader gave {student} {got}/{auto_max}: {scores}"
            notebook_ids = {s: gb.find_submission_notebook(SECTION, SECTION, s).id for s in students}

        # 5. the written answers, graded by hand in formgrader: full points for ada, none for bob
        given = {ada: written_max, bob: 0.0}
        for student in students:
            teacher.goto(f"{url}/user/{instructor}/formgrader/submissions/{notebook_ids[student]}/?index=0")
            box = teacher.locator(f"#{written[0]}")
            box.wait_for(timeout=WAIT)
            box.scroll_into_view_if_needed()
            box.fill(f"{given[student]:g}")
            box.press("Enter")
            comment = teacher.locator(f"#{written[0]}-comment")
            comment.fill("Right on both counts." if given[student] else "Count the examples again.")
            comment.press("Tab")
            deadline = time.monotonic() + 60
            while True:  # formgrader saves the grade and the comment with requests of their own
                with Gradebook(db) as gb:
                    saved = (gb.find_grade(written[0], SECTION, SECTION, student).manual_score,
                             bool(gb.find_comment(written[0], SECTION, SECTION, student).manual_comment))
                if saved == (given[student], True) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert saved == (given[student], True), f"formgrader saved {saved} for {student}, not {given[student]}"
            if student == ada:
                box.scroll_into_view_if_needed()
                teacher.screenshot(path=str(SHOTS / "hub-7-instructor-grading.png"))

        # 6. feedback, generated and released in formgrader
        _formgrader_action(teacher, url, instructor, "generate-feedback")
        _formgrader_action(teacher, url, instructor, "release-feedback")
        teacher.screenshot(path=str(SHOTS / "hub-8-instructor-feedback-released.png"))

        # 7. each student fetches their feedback and reads their own points
        for n, student in enumerate(students, 1):
            page = pages[student]
            _assignment_list(page, url, student)
            page.locator("#submitted_assignments_list .list_item", has_text=SECTION).locator(
                "button", has_text="Fetch Feedback").first.click()
            page.wait_for_selector("#submitted_assignments_list a:has-text('view feedback')")
            page.locator("#submitted_assignments_list a", has_text="view feedback").first.click()
            page.locator(".jp-DirListing-item", has_text=f"{SECTION}.html").dblclick()
            shown = feedback_text(page, SECTION)
            page.screenshot(path=str(SHOTS / f"hub-{8 + n}-student-{'ab'[n - 1]}-feedback.png"))
            total = auto_max + given[student]
            assert f"{SECTION}: {total:.1f} / {auto_max + written_max:.1f} points" in shown, (
                f"{student}'s feedback does not show {total:.1f} / {auto_max + written_max:.1f}:\n{shown[:1000]}")
            feedback = list((Path(pwd.getpwnam(student).pw_dir) / SECTION / "feedback").glob("*/*.html"))
            assert [p.name for p in feedback] == [f"{SECTION}.html"], f"{student} fetched {feedback}"
            assert student in feedback[0].read_text() and students[2 - n] not in feedback[0].read_text(), (
                f"{student}'s feedback is not theirs alone")
    except Exception:
        log = classroom["log"]
        print(f"--- the hub's log (last lines) ---\n{log.read_text()[-6000:] if log.exists() else ''}")
        raise
    print(f"\nthe class on the hub: {time.monotonic() - t_start:.0f} s; screenshots in {SHOTS.relative_to(ROOT)}")
