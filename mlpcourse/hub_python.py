"""The Python that the users' servers, kernels and commands run on the course's JupyterHub.

Each user's server runs as that user, so it needs an interpreter every user can run. It must be the
course's own interpreter, not merely one of the same minor version: Debian's 3.11.2 under the
course's packages breaks soupsieve's CSS selectors (`select('div.a > p')` raises
SelectorSyntaxError), and formgrader's page for grading a submission fails with it; pyenv's 3.11.7,
the course's .venv here, runs it. So:

- when the course's interpreter (its binary, its libpython if it has one, its standard library) is
  readable by all, as a system Python or one under /opt is, the users' virtualenv rests on it;
- otherwise (a pyenv under /root, mode 0700) the hub's state folder gets a copy of that interpreter:
  the binary, libpython with its run path pointed at the copy (patchelf), and the standard library
  with its compiled files, but no site-packages (about 100 MB; the course's packages stay in .venv).

On either, the users' virtualenv adds the course's site-packages with a .pth file and carries the
course's commands (jupyter, nbgrader ...) rewritten to run on it. Only the standard library is
imported here: `python3 -m mlpcourse.hub_python` says which way a given interpreter goes.
"""
from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

INTERPRETER = "interpreter"  # in the state folder: the copy of the course's interpreter, when it is needed
USERS_PYTHON = "python"  # in the state folder: the virtualenv the users' servers, kernels and commands run in


def readable_by_all(path):
    """Whether any user can read path: every folder above it searchable by others, the path readable
    (a folder also searchable)."""
    path = Path(path).resolve()
    for folder in path.parents:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    mode = path.stat().st_mode
    needed = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
    return mode & needed == needed


def interpreter():
    """The course's interpreter: {'executable', 'libpython' (None when linked statically), 'stdlib'}."""
    executable = Path(getattr(sys, "_base_executable", None) or sys.executable).resolve()
    libpython = None
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        libpython = Path(sysconfig.get_config_var("LIBDIR")) / sysconfig.get_config_var("INSTSONAME")
    stdlib = Path(sysconfig.get_path("stdlib"))  # in a virtualenv too, the base interpreter's
    return {"executable": executable, "libpython": libpython, "stdlib": stdlib}


def needs_copy(found=None):
    """Whether users cannot run the course's interpreter where it is (the list of what they cannot read)."""
    found = found or interpreter()
    return [str(p) for p in found.values() if p is not None and not readable_by_all(p)]


def copy_interpreter(target, found=None):
    """A copy of the course's interpreter in target (bin/, lib/); returns the copy's executable."""
    found = found or interpreter()
    target = Path(target)
    executable = target / "bin" / found["executable"].name
    stdlib = target / "lib" / found["stdlib"].name
    if executable.exists():
        return executable
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "bin").mkdir(parents=True)
    shutil.copy2(found["executable"], staging / "bin" / executable.name)
    shutil.copytree(found["stdlib"], staging / "lib" / stdlib.name, symlinks=True,
                    ignore=lambda folder, names: [n for n in names if Path(folder) == found["stdlib"] and (
                        n in ("site-packages", "dist-packages", "test") or n.startswith("config-"))])
    if found["libpython"] is not None:
        shutil.copy2(found["libpython"], staging / "lib" / found["libpython"].name)
        if not shutil.which("patchelf"):
            raise RuntimeError("patchelf is missing (apt-get install patchelf; `make hub-setup` installs it): "
                               "the copy of the course's Python must find its own libpython")
        # the binary looks for libpython beside the copy, not in the original's folder (users cannot
        # reach it there, and the system's libpython of another patch release would load instead)
        subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/../lib", str(staging / "bin" / executable.name)],
                       check=True)
    for path in [staging, *staging.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IROTH | stat.S_IRGRP
                       | (stat.S_IXOTH | stat.S_IXGRP if path.is_dir() or path.stat().st_mode & stat.S_IXUSR else 0))
    staging.rename(target)
    return executable


def users_python(state, site_packages):
    """The virtualenv in state that every user can run: the course's interpreter (or its copy), the
    course's packages (site_packages, by a .pth file) and its commands. Returns its python."""
    state = Path(state)
    venv = state / USERS_PYTHON
    found = interpreter()
    base = copy_interpreter(state / INTERPRETER, found) if needs_copy(found) else found["executable"]
    python = venv / "bin" / "python"

    def version():
        return subprocess.run([str(python), "-c", "import sys; print(sys.version)"],
                              capture_output=True, text=True).stdout.strip() if python.exists() else None

    if version() != sys.version:  # none yet, or one on another interpreter (an earlier course environment)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True)
    assert version() == sys.version, f"{python} does not run the course's Python {sys.version}"
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    (site / "course-environment.pth").write_text(f"import site; site.addsitedir({str(site_packages)!r})\n")
    for script in (Path(sys.prefix) / "bin").iterdir():  # the commands (jupyter, nbgrader, alembic ...), on its Python
        try:
            first, rest = script.read_bytes().split(b"\n", 1)
        except (ValueError, IsADirectoryError):
            continue
        if first.startswith(b"#!") and first.rstrip().endswith(b"/python") and not (venv / "bin" / script.name).exists():
            (venv / "bin" / script.name).write_bytes(b"#!" + str(python).encode() + b"\n" + rest)
            (venv / "bin" / script.name).chmod(0o755)
    for shared in ("etc/jupyter", "share/jupyter"):  # Jupyter finds its extensions, JupyterLab and kernels by sys.prefix
        link = venv / shared
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(Path(sys.prefix) / shared)
    return python


if __name__ == "__main__":
    found = interpreter()
    unreadable = needs_copy(found)
    print(f"{sys.version.split()[0]} at {found['executable']} (libpython {found['libpython']}, "
          f"standard library {found['stdlib']}): " + (
              f"the hub copies it, users cannot read {', '.join(unreadable)}" if unreadable
              else "users run it where it is"))
