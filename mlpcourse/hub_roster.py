"""The class on a JupyterHub machine, from a roster: users.csv -> Unix accounts, groups, gradebook.

    python -m mlpcourse hub roster users.csv     (as root)
    python -m mlpcourse hub unroster users.csv   (removes the accounts and their homes)

users.csv has the columns username,first_name,last_name,role (role: student or instructor). Each
row gets a Unix account (useradd, a home of its own; its password is set as the machine does it:
passwd, chpasswd, or the university's PAM), and joins the groups of nbgrader's JupyterHub
integration: nbgrader-<course id> for students, formgrade-<course id> for instructors. The first
instructor owns the course directory, a copy of this course in ~/<course id>/ (with the sections
given, their release generated), whose gradebook gets every student with their names, and whose
~/.jupyter/nbgrader_config.py points nbgrader at it (as nbgrader's JupyterHub guide does).
"""
from __future__ import annotations

import csv
import grp
import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from .course import COURSE_ROOT, load_config, sections

COURSE_ID = load_config(COURSE_ROOT).CourseDirectory.course_id
STUDENTS_GROUP = f"nbgrader-{COURSE_ID}"
INSTRUCTORS_GROUP = f"formgrade-{COURSE_ID}"
ROLES = {"student": STUDENTS_GROUP, "instructor": INSTRUCTORS_GROUP}


@dataclass
class Member:
    username: str
    first_name: str
    last_name: str
    role: str


def read_roster(path):
    """The rows of users.csv, checked: known roles, login names useradd accepts, one instructor at least."""
    with open(path, newline="") as f:
        members = [Member(**{k: (row.get(k) or "").strip() for k in ("username", "first_name", "last_name", "role")})
                   for row in csv.DictReader(f)]
    for m in members:
        assert m.role in ROLES, f"{path}: {m.username} has role {m.role!r}; use student or instructor"
        assert m.username and m.username[0].isalpha() and m.username.replace("-", "").replace("_", "").isalnum() \
            and m.username == m.username.lower() and len(m.username) <= 32, \
            f"{path}: {m.username!r} is not a login name (lower-case letters, digits, - and _)"
    assert any(m.role == "instructor" for m in members), f"{path}: no instructor in the roster"
    return members


def course_dir(instructor):
    """The course directory the instructor owns."""
    return Path(pwd.getpwnam(instructor).pw_dir) / COURSE_ID


def _run(*args):
    subprocess.run(args, check=True, capture_output=True, text=True)


def _group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def add_class(roster, course_sections=None):
    """Create the accounts, groups and the owner's course directory of a roster (idempotent);
    return the course directory."""
    from .assignments import scratch_course

    members = read_roster(roster)
    for group in ROLES.values():
        if not _group_exists(group):
            _run("groupadd", group)
    for m in members:
        if not _user_exists(m.username):
            _run("useradd", "--create-home", "--shell", "/bin/bash",
                 "--comment", f"{m.first_name} {m.last_name}".strip(), m.username)
        _run("usermod", "--append", "--groups", ROLES[m.role], m.username)
        Path(pwd.getpwnam(m.username).pw_dir).chmod(0o700)  # nobody reads another's work
    owner = next(m.username for m in members if m.role == "instructor")
    course = course_dir(owner)
    if not (course / "nbgrader_config.py").is_file():
        scratch_course(list(course_sections or sections()), root=course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for m in members:
            if m.role == "student":
                gb.update_or_create_student(m.username, first_name=m.first_name, last_name=m.last_name)
    jupyter = Path(pwd.getpwnam(owner).pw_dir) / ".jupyter"
    jupyter.mkdir(exist_ok=True)
    (jupyter / "nbgrader_config.py").write_text(
        "# the course this instructor grades (written by python -m mlpcourse hub roster)\n"
        f"c = get_config()\nload_subconfig({str(course / 'nbgrader_config.py')!r})\n")
    entry = pwd.getpwnam(owner)
    for path in [jupyter, *jupyter.rglob("*"), course, *course.rglob("*")]:
        shutil.chown(path, entry.pw_uid, entry.pw_gid)
    return course


def kill_processes_of(uid):
    """SIGKILL, by pid, every process running as uid (userdel refuses a user with processes)."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            real_uid = next(int(line.split()[1]) for line in status.read_text().splitlines()
                            if line.startswith("Uid:"))
            if real_uid == uid:
                os.kill(int(status.parent.name), signal.SIGKILL)
        except (OSError, StopIteration):
            pass


def remove_class(roster):
    """Remove the roster's accounts with their homes, and the course's groups when empty."""
    for m in read_roster(roster):
        if _user_exists(m.username):
            kill_processes_of(pwd.getpwnam(m.username).pw_uid)
            _run("userdel", "--remove", m.username)
    for group in ROLES.values():
        if _group_exists(group) and not grp.getgrnam(group).gr_mem:
            _run("groupdel", group)
