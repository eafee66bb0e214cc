"""The student set-up the course's JupyterHub relies on (issue 28, 4), run as root: student-setup
for a student leaves all of their ~/.jupyter theirs.

Alone: .venv/bin/python -m pytest -p no:cacheprovider tests/test_hub.py   (as root)
"""
import os
import pwd
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from mlpcourse.course import COURSE_ROOT as ROOT


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
