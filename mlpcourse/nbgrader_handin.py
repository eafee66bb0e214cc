# Plugs mlpcourse.handin into stock nbgrader: `nbgrader collect` and `nbgrader autograde` with the course's config.
# Nothing here grades; it decides which of a student's files nbgrader may read at all.
"""Submissions are data, never paths, for stock nbgrader too (nbgrader_config.py sets all three):

- `SafeCollect` (`ExchangeFactory.collect`): `nbgrader collect` copies a submission out of the
  exchange with shutil.copytree, which follows links; here only regular, singly linked files are
  copied (read with mlpcourse.handin), the rest is refused in the log.
- `defuse` (`Autograde.pre_convert_hook`, before nbgrader copies a submission's files): a link,
  device, FIFO or hard link in the submission folder, or a linked student or section folder, is
  renamed to `<name>.refused-by-grader`, which `CourseDirectory.ignore` keeps out of every copy.
  The rename moves the entry itself; nothing is read through it.
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
        shutil.copytree(src, dest, ignore=ignore, copy_function=copy)
        for line in refused:
            self.log.warning("Refused (not collected): %s", line)


# --- nbgrader autograde ------------------------------------------------------------------------


def defuse(assignment=None, student=None, notebooks=()):
    """Rename every entry of these notebooks' submission folders that must not be read (see above)."""
    for folder in sorted({os.path.dirname(os.path.abspath(n)) for n in notebooks}):
        student_folder = os.path.dirname(folder)
        for path in (student_folder, folder):
            if os.path.islink(path):
                os.rename(path, path + SUFFIX)
                os.mkdir(path)  # an empty folder where the link was: nothing to copy, no notebook
        if os.path.lexists(student_folder + SUFFIX) or os.path.lexists(folder + SUFFIX):
            continue  # the folder is the empty one put in place of a link
        for entry in os.scandir(folder):
            if entry.name.endswith(".ipynb") or entry.name.endswith(SUFFIX):
                continue  # notebooks are read (or refused) by SafeNotebookExporter
            if _reason(entry.name, entry.stat(follow_symlinks=False)) and not entry.is_dir(follow_symlinks=False):
                os.rename(entry.path, entry.path + SUFFIX)


def refusals(folder):
    """Reasons for what `defuse` set aside in a submission folder and above it."""
    found = []
    for path in (os.path.dirname(folder), folder):
        if os.path.lexists(path + SUFFIX):
            found.append(_reason(os.path.basename(path) + "/", os.lstat(path + SUFFIX)))
    if os.path.isdir(folder):
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.endswith(SUFFIX):
                found.append(_reason(entry.name[:-len(SUFFIX)], entry.stat(follow_symlinks=False)))
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
            reasons.insert(0, str(exc) if isinstance(exc, Refused) else f"{name} was not handed in as a file")
            nb = new_notebook(cells=[new_code_cell("", metadata={"nbgrader": {  # restored from the gradebook
                "grade": False, "grade_id": "parameters", "locked": True, "solution": False, "schema_version": 3}})])
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        if reasons:
            text = "**The grader refused these files and did not read them** (only regular files are graded):\n\n"
            nb.cells.insert(0, new_markdown_cell(text + "\n".join(f"- {r}" for r in reasons),
                                                 metadata={NOTICE: True}))
        return self.from_notebook_node(nb, resources, **kw)
