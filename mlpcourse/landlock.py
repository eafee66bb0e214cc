# Where a grading kernel may write, enforced by Linux's Landlock: its size-capped folder and /dev/shm, nothing else.
# Never widens what the sandbox allows; never runs the kernel unconfined when Landlock refuses a rule.
"""Landlock rules of a grading kernel (stdlib only: it also runs as a script inside the sandbox).

bubblewrap already leaves the kernel one writable place of the real disk: the folder that holds
its connection file and ZeroMQ's Unix sockets, which jupyter_client outside the sandbox must
reach. The kernel's working folder and home are a size-capped tmpfs mounted inside that folder
(mlpcourse.sandbox); these rules keep the kernel from writing anywhere else of it: beneath the
folder it may only create (and remove) sockets, and once ipykernel has bound its own, not even
those (mlpcourse.sealed_kernel); the tmpfs and /dev/shm are its own, and /dev and /proc may be
written (/dev/null) but not created in. The rules hold for the process
that installs them and every thread and process it starts afterwards, so they are installed
before ipykernel starts a thread: in the zygote's fork, or by this script, which then execs
the kernel (``python -S landlock.py SEED DISK FOLDER -- KERNEL ARGV``, after copying SEED, the
files the kernel gets, into DISK, its tmpfs, and entering DISK/work).

Where the running Linux has no Landlock (before 5.13, or turned off), `restrict` returns False
and the tmpfs still caps the working folder, but not the connection folder.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import sys

# linux/landlock.h
CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # x86-64 and every architecture since 5.13
CREATE_RULESET_VERSION, RULE_PATH_BENEATH, PR_SET_NO_NEW_PRIVS = 1, 1, 38
WRITE_FILE, REMOVE_DIR, REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = (1 << i for i in range(6, 13))
REFER, TRUNCATE = 1 << 13, 1 << 14  # ABI 2 and 3
# a kernel's folder (mlpcourse.sandbox): SEED, the files it gets, written by the grader; DISK, its tmpfs,
# into which SEED is copied: it works in DISK/work, its home is DISK/home
SEED, DISK = "seed", "disk"
WRITES = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO
          | MAKE_BLOCK | MAKE_SYM)


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _syscall(*args):
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.syscall(*args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def abi():
    """Landlock's ABI version on this machine, 0 without Landlock."""
    try:
        return _syscall(ctypes.c_long(CREATE_RULESET), None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    except OSError:
        return 0


def restrict(writable, sockets_only=(), written_only=("/dev", "/proc")):
    """Confine this process (and what it starts later) to writing beneath `writable`; beneath
    `sockets_only` it may create and remove sockets, beneath `written_only` write existing files
    (a path that does not exist gets no rule). Returns False where Landlock is missing; raises
    OSError if it refuses a rule."""
    version = abi()
    if version < 1:
        return False
    handled = WRITES | (REFER if version >= 2 else 0) | (TRUNCATE if version >= 3 else 0)
    attr = ctypes.c_uint64(handled)
    ruleset = _syscall(ctypes.c_long(CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(8), ctypes.c_uint32(0))
    try:
        rules = [(p, handled) for p in writable] + [(p, MAKE_SOCK | REMOVE_FILE) for p in sockets_only]
        rules += [(p, handled & (WRITE_FILE | TRUNCATE)) for p in written_only]
        for path, allowed in rules:
            if not os.path.exists(path):
                continue
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneath(allowed, fd)
                _syscall(ctypes.c_long(ADD_RULE), ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH),
                         ctypes.byref(rule), ctypes.c_uint32(0))
            finally:
                os.close(fd)
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS refused")
        _syscall(ctypes.c_long(RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return True


def fill(seed, disk):
    """Empty the kernel's tmpfs (what an earlier kernel of the zygote left), then copy the kernel's
    files into it (SEED: work/ and home/, regular files and folders)."""
    for entry in os.scandir(disk):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)
    shutil.copytree(seed, disk, dirs_exist_ok=True, symlinks=True)


def main(argv):
    """SEED DISK FOLDER -- KERNEL ARGV: fill DISK from SEED, confine, exec the kernel."""
    seed, disk, folder, dashes, *kernel = argv
    if dashes != "--" or not kernel:
        print("usage: landlock.py SEED DISK FOLDER -- KERNEL ARGV", file=sys.stderr)
        return 2
    try:
        fill(seed, disk)
    except OSError as exc:
        print(f"the grading kernel's files do not fit in its folder: {exc}", file=sys.stderr)
        return 1
    os.chdir(os.path.join(disk, "work"))
    if not restrict([disk, "/dev/shm"], sockets_only=[folder]):
        print("Landlock is not available: the kernel's connection folder is not capped", file=sys.stderr)
    os.execvp(kernel[0], kernel)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
