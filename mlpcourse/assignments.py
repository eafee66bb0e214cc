"""nbgrader's generate_assignment for several sections in one process, and the gradebook set-up.

    python -m mlpcourse release     # release/<section>/ for every section (commit the result)
    python -m mlpcourse gradebook   # gradebook.db knows every section; release/ is not touched

Each section is its own nbgrader assignment. ``nbgrader generate_assignment`` takes one at a time
and starts Python each time; this calls nbgrader's own API for all of them in one process.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .course import COURSE_ROOT, config_files, load_config, sections, write_config_files
from .runtime import verify

# The main job's example submissions (python -m mlpcourse all), kept out of a real class's gradebook
EXAMPLE_STUDENTS = ("reference", "untouched", "partly_wrong")


def _generate_here(course, names, release_dir=None, db_url=None):
    """In this process: nbgrader's generate_assignment of each name; raise if one fails."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = load_config(course)
    config.CourseDirectory.root = str(course)
    if db_url:
        config.CourseDirectory.db_url = db_url
    if release_dir:
        config.CourseDirectory.release_directory = str(release_dir)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    for name in names:
        result = api.generate_assignment(name, force=True)
        if not result["success"]:
            log = result.get("log") or ""
            causes = [line.strip() for line in log.splitlines() if re.match(r"\s*\w*(Error|Exception):", line)
                      and "NbGraderException" not in line]
            raise RuntimeError(f"nbgrader generate_assignment {name} failed: "
                               f"{causes[-1] if causes else result.get('error') or log}")


def generate(course, names=None, release_dir=None, db_url=None, timeout=1800):
    """generate_assignment for every section (or `names`) of `course`, in a fresh Python process."""
    course = Path(course)
    names = list(names or sections(course))
    args = [sys.executable, "-m", "mlpcourse.assignments", str(course), *names]
    if release_dir:
        args += ["--release-dir", str(release_dir)]
    if db_url:
        args += ["--db-url", db_url]
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.run(args, cwd=course, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        named = [line for line in proc.stderr.splitlines() if line.startswith("RuntimeError: nbgrader generate_assignment")]
        raise RuntimeError(named[-1].removeprefix("RuntimeError: ") if named else
                           f"generate_assignment failed in {course}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return names


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    release_dir = db_url = None
    if "--release-dir" in argv:
        i = argv.index("--release-dir")
        release_dir = argv[i + 1]
        del argv[i:i + 2]
    if "--db-url" in argv:
        i = argv.index("--db-url")
        db_url = argv[i + 1]
        del argv[i:i + 2]
    course, names = Path(argv[0]), argv[1:]
    _generate_here(course, names or sections(course), release_dir, db_url)
    return 0


def forget_examples():
    """Remove the main job's example students (only them) from the gradebook. nbgrader refuses to
    add or remove graded cells of a section that has submissions; theirs are made again by the
    next `make all`, a real student's are kept (and nbgrader's refusal is reported)."""
    from nbgrader.api import Gradebook, MissingEntry

    if not (COURSE_ROOT / "gradebook.db").exists():
        return
    with Gradebook(f"sqlite:///{COURSE_ROOT}/gradebook.db") as gb:
        for student in EXAMPLE_STUDENTS:
            try:
                gb.remove_student(student)
            except MissingEntry:
                pass


def copy_section(name, dest_root, course_root=COURSE_ROOT):
    """Copy source/<name>/ (the notebook and its makemore.py, nothing a run left there) into dest_root/source/."""
    src = Path(course_root) / "source" / name
    dest = Path(dest_root) / "source" / name
    dest.mkdir(parents=True, exist_ok=True)
    for fname in (f"{name}.ipynb", "makemore.py"):
        shutil.copy(src / fname, dest)
    return dest


def scratch_course(notebooks, root=None, course_root=COURSE_ROOT):
    """A scratch course directory holding only the given sections, their release generated."""
    root = Path(root or tempfile.mkdtemp(prefix="mlpcourse-"))
    root.mkdir(parents=True, exist_ok=True)
    write_config_files(root, config_files(course_root))
    (root / "data").mkdir(exist_ok=True)  # where the notebooks look for names.txt (here and above)
    shutil.copy(verify(Path(course_root) / "data" / "names.txt"), root / "data" / "names.txt")
    for name in notebooks:
        copy_section(name, root, course_root)
    generate(root, notebooks)
    return root


def release_main(argv=None):
    """python -m mlpcourse release: the libraries, then release/ for every section."""
    from .library import write_libraries

    write_libraries()
    forget_examples()
    names = generate(COURSE_ROOT)
    print(f"release/ generated for {len(names)} sections: {', '.join(names)}")
    return 0


def gradebook_main(argv=None):
    """python -m mlpcourse gradebook: every section in the gradebook, release/ untouched."""
    forget_examples()
    names = generate(COURSE_ROOT, release_dir=COURSE_ROOT / "build" / "release")
    print(f"gradebook: {len(names)} assignments ({names[0]} … {names[-1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
