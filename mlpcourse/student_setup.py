"""Prepare a student's Jupyter for the course: the course's nbgrader settings, no instructor UI.

    python -m mlpcourse student-setup DIR

DIR is a Jupyter config folder: a student's ~/.jupyter on a machine the class shares, or
/etc/jupyter (or the students' environment's etc/jupyter) on a JupyterHub. It receives a copy of
student/nbgrader_config.py (course id, exchange folder, Validate's settings), and nbgrader's
instructor extensions (formgrader, course list, create assignment) are turned off there, as
nbgrader's installation guide does it: `jupyter labextension disable` for the JupyterLab side,
and for the server side the setting `jupyter server extension disable` would write (that
command refuses nbgrader's extensions in nbgrader 0.9.6: "could not be found", because their
modules lack `_jupyter_server_extension_points`). It never touches the instructor's own
configuration.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from jupyter_server.config_manager import BaseJSONConfigManager

from .course import COURSE_ROOT

STUDENT_CONFIG = COURSE_ROOT / "student" / "nbgrader_config.py"
# nbgrader's parts that only an instructor uses (its installation guide names them)
INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                          "@jupyter/nbgrader:create-assignment")
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                "nbgrader.server_extensions.course_list")


def set_up(config_dir):
    """Write the course's nbgrader_config.py into config_dir and turn the instructor UI off there."""
    config_dir = Path(config_dir)
    config_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(STUDENT_CONFIG, config_dir / "nbgrader_config.py")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir)}
    jupyter = [sys.executable, "-m", "jupyter"]
    for plugin in INSTRUCTOR_LAB_PLUGINS:
        subprocess.run([*jupyter, "labextension", "disable", "--level=user", plugin],
                       env=env, check=True, capture_output=True)
    BaseJSONConfigManager(config_dir=str(config_dir)).update(
        "jupyter_server_config",
        {"ServerApp": {"jpserver_extensions": {name: False for name in INSTRUCTOR_SERVER_EXTENSIONS}}})
    return config_dir


def main(argv):
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__)
        return 2
    where = set_up(argv[0])
    print(f"{where}: the course's nbgrader_config.py; formgrader, course list and create assignment "
          "turned off")
    return 0
