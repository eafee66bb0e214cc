# Plugs mlpcourse.handin into stock nbgrader: `nbgrader collect` and `nbgrader autograde` with the course's config.
# Nothing here grades; it decides which of a student's files nbgrader may read at all.
"""Submissions are data, never paths, for stock nbgrader too (nbgrader_config.py sets all three):

- `SafeCollect` (`ExchangeFactory.collect`): `nbgrader collect` copies a submission out of the
  exchange with shutil.copytree, which follows links; here only regular, singly linked files are
  copied (read with mlpcourse.handin), the rest is refused in the log. nbgrader's own limit on a
  submission's size (`CourseDirectory.max_dir_size`) holds: a bigger one is not collected.
- `defuse` (`Autograde.pre_convert_hook`, before nbgrader copies a submission's files, which it
  finds in every subfolder and copies with shutil.copy, following links): a link, device, FIFO or
  hard link in the submission folder or any folder below it, or a linked student or section
  folder, is renamed to `<name>.refused-by-grader`, which `CourseDirectory.ignore` keeps out of
  every copy. The rename moves the entry itself; nothing is read through it.
- `SafeNotebookExporter` (`Autograde.exporter_class`): the submitted notebook is read with
  mlpcourse.handin. A refused notebook is graded as an empty one (every test fails: 0 points), and
  a markdown cell at the top of the autograded notebook, so of the feedback, names each file refused.
"""
from __future__ import annotations

import os
import shutil
import stat

from nbconvert.exporters import NotebookExporter
from nbformat import reads
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import ignore_patterns

from .handin import KINDS, Refused, open_folder, read_file

SUFFIX = ".refused-by-grader"
NOTICE = "mlpcourse_refused"  # metadata key of the notice cell


def _reason(name, info):
    """Why an entry with this lstat is refused, or '' if it is a regular file with one link."""
    if stat.S_ISREG(info.st_mode):
        return "" if info.st_nlink == 1 else f"{name} is a hard link (one file with {info.st_nlink} names)"
    return f"{name} is {KINDS.get(stat.S_IFMT(info.st_mode), 'not a regular file')}"


# --- nbgrader collect ------------------------------------------------------------------------


class SafeCollect(ExchangeCollect):
    """nbgrader's collect, copying only regular files that have one link, never through a link."""

    def do_copy(self, src, dest, log=None):
        refused = []
        nbgrader_ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                          max_file_size=self.coursedir.max_file_size, log=self.log)

        def ignore(directory, names):
            skip = set(nbgrader_ignore(directory, names))
            for name in names:
                why = _reason(name, os.lstat(os.path.join(directory, name)))
                if why and not stat.S_ISDIR(os.lstat(os.path.join(directory, name)).st_mode):
                    refused.append(f"{os.path.relpath(os.path.join(directory, name), src)}: {why}")
                    skip.add(name)
            return skip

        def copy(source, target):
            parent, name = os.path.split(source)
            fd = open_folder(parent)
            try:
                data = read_file(fd, name)
            finally:
                os.close(fd)
            with open(target, "wb") as f:
                f.write(data)

        if os.path.islink(src):
            self.log.error("Refused (not collected): %s is a symbolic link", src)
            return
        size = self.get_size(src)  # nbgrader's own check (its do_copy), links not counted
        if size > 1000 * self.coursedir.max_dir_size:
            self.log.error("Refused (not collected): %s holds %d bytes, more than CourseDirectory.max_dir_size "
                           "(%d kB)", src, size, self.coursedir.max_dir_size)
            return
        shutil.copytree(src, dest, ignore=ignore, copy_function=copy)
        for line in refused:
            self.log.warning("Refused (not collected): %s", line)


# --- nbgrader autograde ------------------------------------------------------------------------


def defuse(assignment=None, student=None, notebooks=()):
    """Rename every entry of these notebooks' submission folders that must not be read (see above).

    nbgrader logs a hook that raises and copies the folder anyway, following links: so this hook
    never raises an OSError. A submission it cannot make safe is set aside whole (nothing in it is
    read: its notebook scores 0, with the reason); if even that fails, grading stops."""
    for folder in sorted({os.path.dirname(os.path.abspath(n)) for n in notebooks}):
        try:
            _defuse_folder(folder)
        except OSError as exc:
            _set_aside(folder, exc)


def _defuse_folder(folder):
    student_folder = os.path.dirname(folder)
    for path in (student_folder, folder):
        if os.path.islink(path):
            os.rename(path, path + SUFFIX)
            os.mkdir(path)  # an empty folder where the link was: nothing to copy, no notebook
    if os.path.lexists(student_folder + SUFFIX) or os.path.lexists(folder + SUFFIX):
        return  # the folder is the empty one put in place of a link (or of a submission set aside)
    _writable(folder, os.lstat(folder))
    for entry in _entries(folder):
        if entry.name.endswith(SUFFIX) or (entry.name.endswith(".ipynb") and os.path.dirname(entry.path) == folder):
            continue  # the folder's notebooks are read (or refused) by SafeNotebookExporter
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            _writable(entry.path, info)
        elif _reason(entry.name, info):
            os.rename(entry.path, entry.path + SUFFIX)


def _writable(folder, info):
    """A folder handed in read-only: its owner (the grader, after collect) may still rename in it."""
    if info.st_mode & 0o700 != 0o700:
        os.chmod(folder, stat.S_IMODE(info.st_mode) | 0o700)


def _set_aside(folder, exc):
    """The whole submission folder renamed (an empty one in its place): nothing in it is read."""
    try:
        os.rename(folder, folder + SUFFIX)
        os.mkdir(folder)
    except OSError as again:
        raise SystemExit(f"grading stopped: {folder} holds an entry the grader must not read and could not set "
                         f"aside ({exc}), nor could it set the folder aside ({again})") from again


def _entries(folder):
    """Every entry of `folder` and of the real folders below it (never through a link), depth first."""
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        yield entry
        if entry.is_dir(follow_symlinks=False):
            yield from _entries(entry.path)


def refusals(folder):
    """Reasons for what `defuse` set aside in a submission folder and above it."""
    found = []
    for path in (os.path.dirname(folder), folder):
        if os.path.lexists(path + SUFFIX):
            info = os.lstat(path + SUFFIX)
            name = os.path.basename(path) + "/"
            found.append(f"{name} holds an entry the grader could not set aside (in a folder it may not change): "
                         "nothing in it was read" if stat.S_ISDIR(info.st_mode) else _reason(name, info))
    if os.path.isdir(folder) and not os.path.islink(folder):
        for entry in _entries(folder):
            if entry.name.endswith(SUFFIX):
                found.append(_reason(os.path.relpath(entry.path, folder)[:-len(SUFFIX)], entry.stat(follow_symlinks=False)))
    return [f for f in found if f]


class SafeNotebookExporter(NotebookExporter):
    """nbconvert's NotebookExporter; a notebook under submitted/ is read only as a regular file."""

    def from_filename(self, filename, resources=None, **kw):
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is None:
            return super().from_filename(filename, resources, **kw)
        root = os.path.abspath(os.path.join(coursedir.root, coursedir.submitted_directory))
        path = os.path.abspath(filename)
        if os.path.commonpath([root, path]) != root:
            return super().from_filename(filename, resources, **kw)  # autograded/: written by nbgrader
        *parts, name = os.path.relpath(path, root).split(os.sep)
        reasons = refusals(os.path.dirname(path))
        try:
            fd = open_folder(root, *parts)
            try:
                nb = reads(read_file(fd, name).decode("utf-8"), as_version=4)
            finally:
                os.close(fd)
        except (Refused, FileNotFoundError) as exc:
            if isinstance(exc, Refused) or not reasons:  # (a folder set aside says why itself)
                reasons.insert(0, str(exc) if isinstance(exc, Refused) else f"{name} was not handed in as a file")
            nb = new_notebook(cells=[new_code_cell("", metadata={"nbgrader": {  # restored from the gradebook
                "grade": False, "grade_id": "parameters", "locked": True, "solution": False, "schema_version": 3}})])
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        if reasons:
            text = "**The grader refused these files and did not read them** (only regular files are graded):\n\n"
            nb.cells.insert(0, new_markdown_cell(text + "\n".join(f"- {r}" for r in reasons),
                                                 metadata={NOTICE: True}))
        return self.from_notebook_node(nb, resources, **kw)
