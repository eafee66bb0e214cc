"""JupyterHub of the makemore MLP course on one machine (started by `python -m mlpcourse hub run`).

Who belongs to the course are the Unix groups of nbgrader's JupyterHub integration, made from the
roster (mlpcourse/hub_roster.py): nbgrader-<course> (students) and formgrade-<course> (instructors).
Only they log in (PAM: their Unix passwords). Each user's server runs as that user (LocalProcessSpawner,
the hub runs as root). Students' servers read the course's student settings from one shared config
folder (JUPYTER_CONFIG_PATH, written by student-setup: the course's nbgrader_config.py, no formgrader,
course list or create assignment); the course owner's server is the formgrader, in the course
directory, as in nbgrader's "one class, one grader" set-up; the other instructors get access to it
through a role of their group. Nobody is an admin; a student reaches only their own server.
"""
import grp
import os
from pathlib import Path

from mlpcourse.course import COURSE_ROOT
from mlpcourse.hub import PROXY, STUDENT_JUPYTER
from mlpcourse.hub_python import USERS_PYTHON
from mlpcourse.hub_roster import INSTRUCTORS_GROUP, STUDENTS_GROUP, course_dir

c = get_config()  # noqa: F821 (provided by traitlets)


def members(group):
    try:
        return sorted(grp.getgrnam(group).gr_mem)
    except KeyError:
        return []


students, instructors = members(STUDENTS_GROUP), members(INSTRUCTORS_GROUP)
# the instructor whose home holds the course directory (the roster's first instructor)
owners = [name for name in instructors if (course_dir(name) / "nbgrader_config.py").is_file()]
owner = owners[0] if owners else None
state = Path.cwd()  # mlpcourse.hub runs the hub in its state folder

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.hub_ip = "127.0.0.1"
c.ConfigurableHTTPProxy.command = [str(PROXY)]
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {STUDENTS_GROUP, INSTRUCTORS_GROUP}
c.PAMAuthenticator.open_sessions = False  # no login session (utmp, systemd) for a notebook server
c.Authenticator.admin_users = set()
c.JupyterHub.load_groups = {STUDENTS_GROUP: {"users": students}, INSTRUCTORS_GROUP: {"users": instructors}}
if owner:
    c.JupyterHub.load_roles = [{
        "name": INSTRUCTORS_GROUP, "groups": [INSTRUCTORS_GROUP],
        "scopes": [f"access:servers!user={owner}", f"read:servers!user={owner}"]}]

c.JupyterHub.spawner_class = "localprocess"
python = state / USERS_PYTHON / "bin" / "python"  # mlpcourse.hub_python: the course's Python, every user can run it
c.Spawner.cmd = [str(python), "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 120  # a busy machine starts JupyterLab slowly
c.Spawner.start_timeout = 120
c.Spawner.environment = {
    "NBGRADER_EXCHANGE": os.environ["NBGRADER_EXCHANGE"],
    "MAKEMORE_NAMES": str(COURSE_ROOT / "data" / "names.txt"),  # the machine has no internet to download it
    "PATH": os.pathsep.join([str(python.parent), "/usr/local/bin", "/usr/bin", "/bin"]),
}


def per_role(spawner):
    """Students get the course's student settings; the course owner's server opens the course."""
    name = spawner.user.name
    if name in students:
        spawner.environment["JUPYTER_CONFIG_PATH"] = str(state / STUDENT_JUPYTER)
    elif name == owner:
        spawner.notebook_dir = str(course_dir(owner))


c.Spawner.pre_spawn_hook = per_role
