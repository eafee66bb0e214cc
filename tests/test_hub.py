"""What the course's JupyterHub relies on, run as root: student-setup for a student leaves all of their
~/.jupyter theirs (issue 28, 4); the users' servers run the course's own Python, copied where users
cannot read it and used where it is when they can (issue 31). The hub itself, in a browser:
tests/test_hub_browser.py.

Alone: .venv/bin/python -m pytest -p no:cacheprovider tests/test_hub.py   (as root)
"""
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mlpcourse.course import COURSE_ROOT as ROOT
from mlpcourse.hub_python import INTERPRETER, needs_copy, users_python


pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the hub test creates Unix accounts: run it as root (CI does)")


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


def test_users_run_the_course_python(tmp_path):
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
