# Reads what a student handed in as data: only regular files inside the student's own folder.
# Never follows a link, never opens a device or a FIFO, never reads a file with another name elsewhere.
"""Submissions are data, never paths (issue 27).

A submission folder (submitted/<student>/<section>/) is walked one component at a time from the
course's submitted/ folder with `O_NOFOLLOW`, so a symlinked student folder, section folder or
file is refused rather than followed; every file is opened with `O_NOFOLLOW | O_NONBLOCK` (a FIFO
cannot hang the grader) and kept only if `fstat` says it is a regular file with one link (a hard
link shares its inode with a file elsewhere: the instructor's solution, another student's work).
What is refused carries a reason a person can act on; nothing is read through it.
"""
from __future__ import annotations

import os
import stat

NOFOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
KINDS = {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
         stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


class Refused(Exception):
    """A path that is not a regular file (or folder) of the student's own; str() is the reason."""


def _kind(mode):
    return KINDS.get(stat.S_IFMT(mode), "not a regular file")


def open_folder(root, *parts):
    """A file descriptor of root/parts…, each part opened without following a link; Refused otherwise.
    `root` is the instructor's (followed as given); the parts are the student's."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            try:
                new = os.open(part, NOFOLLOW | os.O_DIRECTORY, dir_fd=fd)
            except OSError as exc:
                try:
                    mode = os.lstat(part, dir_fd=fd).st_mode
                except OSError:
                    raise exc from None
                raise Refused(f"{part}/ is {_kind(mode)}, not a folder; it was not read") from None
            os.close(fd)
            fd = new
        return fd
    except BaseException:
        os.close(fd)
        raise


def _why(name, info):
    if not stat.S_ISREG(info.st_mode):
        return f"{name} is {_kind(info.st_mode)}; only regular files are graded, so it was not read"
    if info.st_nlink != 1:
        return f"{name} is a hard link ({info.st_nlink} names for one file); hand in a copy of the file itself"
    return ""


def refusal(dir_fd, name):
    """Why the entry `name` of the folder dir_fd would be refused ('' if it would not); lstat only."""
    return _why(name, os.lstat(name, dir_fd=dir_fd))


def read_file(dir_fd, name):
    """The bytes of the regular file `name` in the folder dir_fd, or Refused with the reason."""
    if why := refusal(dir_fd, name):
        raise Refused(why)
    fd = os.open(name, NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)  # swapped since lstat: fstat decides
    try:
        if why := _why(name, os.fstat(fd)):
            raise Refused(why)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def names(dir_fd):
    """The entries of a folder opened with open_folder (names only, nothing opened)."""
    return sorted(os.listdir(dir_fd))


