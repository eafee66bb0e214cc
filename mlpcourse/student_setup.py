"""Prepare a student's Jupyter for the course: the course's nbgrader settings, no instructor UI.

    python -m mlpcourse student-setup DIR [--user NAME]

DIR is a Jupyter config folder: a student's ~/.jupyter on a machine the class shares, or a folder
every student's server reads (/etc/jupyter, or the JUPYTER_CONFIG_PATH the course's JupyterHub gives
its students, mlpcourse/hub.py). It receives a copy of student/nbgrader_config.py (course id,
exchange folder, Validate's settings) and of student/nbgrader_parts.py (Validate in Parts), and nbgrader's instructor extensions (formgrader, course
list, create assignment) are turned off there, as nbgrader's installation guide does it:
`jupyter labextension disable` for the JupyterLab side, and for the server side the setting
`jupyter server extension disable` would write (that command refuses nbgrader's extensions in
nbgrader 0.9.6: "could not be found", because their modules lack `_jupyter_server_extension_points`).
It never touches the instructor's own configuration.

What it writes belongs to the folder's user: NAME if given, else the owner of the nearest folder
above DIR that exists (/home/stu1 for /home/stu1/.jupyter; root for /etc/jupyter). Run as root for
a student, it leaves nothing of theirs owned by root (JupyterLab could not save their settings and
workspaces there), and everything readable by all when the owner is root (a shared folder).
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from jupyter_server.config_manager import BaseJSONConfigManager

from .course import COURSE_ROOT, STUDENT_FILES

STUDENT = COURSE_ROOT / "student"
# nbgrader's parts that only an instructor uses (its installation guide names them)
INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                          "@jupyter/nbgrader:create-assignment")
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                "nbgrader.server_extensions.course_list")


def _owner_above(path):
    """(uid, gid) of the nearest existing folder at or above path."""
    path = Path(path).absolute()
    while not path.exists():
        path = path.parent
    st = path.stat()
    return st.st_uid, st.st_gid


def set_up(config_dir, user=None):
    """Write the course's nbgrader_config.py and nbgrader_parts.py into config_dir and turn the instructor UI off there;
    hand what was written to `user` (a login name) or to the owner of the folder above it."""
    config_dir = Path(config_dir).absolute()
    if user is not None:
        entry = pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
    else:
        uid, gid = _owner_above(config_dir)
    created = [p for p in [config_dir, *config_dir.parents] if not p.exists()]
    config_dir.mkdir(parents=True, exist_ok=True)
    for name in STUDENT_FILES:
        shutil.copy(STUDENT / name, config_dir / name)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir)}
    subprocess.run([sys.executable, "-m", "jupyter", "labextension", "disable", "--level=user",
                    *INSTRUCTOR_LAB_PLUGINS], env=env, check=True, capture_output=True)
    BaseJSONConfigManager(config_dir=str(config_dir)).update(
        "jupyter_server_config",
        {"ServerApp": {"jpserver_extensions": {name: False for name in INSTRUCTOR_SERVER_EXTENSIONS}}})
    for path in [*created, *(config_dir / name for name in STUDENT_FILES), config_dir / "labconfig",
                 config_dir / "labconfig" / "page_config.json", config_dir / "jupyter_server_config.json"]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if os.geteuid() == 0:  # what this wrote, and what `jupyter` wrote beside it (its 'migrated' stamp)
        for path in [*created, config_dir, *config_dir.rglob("*")]:
            if not path.is_symlink() and path.stat().st_uid == 0:
                os.chown(path, uid, gid)
    return config_dir


def main(argv):
    args = list(argv)
    user = None
    if "--user" in args:
        i = args.index("--user")
        user = args[i + 1] if i + 1 < len(args) else None
        del args[i:i + 2]
        if not user:
            print(__doc__)
            return 2
    if len(args) != 1 or args[0].startswith("-"):
        print(__doc__)
        return 2
    where = set_up(args[0], user)
    owner = pwd.getpwuid(where.stat().st_uid).pw_name
    print(f"{where} (owned by {owner}): the course's nbgrader_config.py and nbgrader_parts.py; formgrader, course list and "
          "create assignment turned off")
    return 0
