# The seccomp filters of a grading kernel: no call that reaches a process outside its own tree, and,
# once its sockets are bound, no new entry in its connection folder.
# Never allows ptrace or another process's memory; never lets a kernel signal or retune its zygote.
"""Two seccomp filters (classic BPF, built with the stdlib) for grading kernels.

**The kernel filter**, for kernels forked from the zygote. A forked kernel shares its sandbox's
PID namespace with the zygote that forks the next student's kernel (pid 1 is bubblewrap's init,
the zygote comes next, every kernel is younger than both). The zygote is not dumpable
(PR_SET_DUMPABLE 0), which already refuses ptrace, /proc/PID/mem and process_vm_readv/writev
towards it; this filter refuses them in the kernel as well, and the calls that dumpability does
not guard:

- refused outright (EPERM): ptrace, process_vm_readv/writev, perf_event_open, kcmp,
  get_robust_list, pidfd_send_signal and pidfd_getfd (a pidfd may be an open /proc/PID folder,
  whose target the filter cannot see), process_madvise, process_mrelease;
- allowed only towards the kernel itself and processes younger than it (its own children; PIDs
  only grow within a grading): kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo,
  pidfd_open, prlimit64, sched_setaffinity, sched_setscheduler, sched_setparam, sched_setattr,
  migrate_pages, move_pages, setpriority and ioprio_set (for a single process only: not a
  process group or a user). A PID of 0 means "myself" or "my process group" (the kernel leads a
  session of its own), a negative one a process group whose leader must be as young;
- any other architecture or the x32 ABI: the process is killed.

It is installed with prctl(PR_SET_SECCOMP) in the fork, after PR_SET_NO_NEW_PRIVS (bubblewrap
sets it too), before any of the student's code runs; children inherit it.

**The seal**, for every grading kernel under either grader (see `seal_filter`), once ipykernel
has bound its sockets: the folder that holds them is on the real disk, and Landlock must let the
kernel make sockets there, so without the seal a cell could fill it with sockets and links.
"""
from __future__ import annotations

import ctypes
import os
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_BIT = 0x40000000
RET_ALLOW, RET_KILL_PROCESS, RET_EPERM = 0x7FFF0000, 0x80000000, 0x00050000 | 1
LD_ABS, JEQ, JGE, JGT, RET, AND = 0x20, 0x15, 0x35, 0x25, 0x06, 0x54  # AND: BPF_ALU | BPF_AND | BPF_K
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 317, 1, 1  # seccomp(2) on x86-64
S_IFMT, S_IFSOCK = 0o170000, 0o140000

# x86-64 system call numbers
REFUSED = {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "perf_event_open": 298,
           "kcmp": 312, "get_robust_list": 274, "pidfd_send_signal": 424, "pidfd_getfd": 438,
           "process_madvise": 440, "process_mrelease": 448}
PID_IN_ARG0 = {"kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
               "pidfd_open": 434, "prlimit64": 302, "sched_setaffinity": 203, "sched_setscheduler": 144,
               "sched_setparam": 142, "sched_setattr": 314, "migrate_pages": 256, "move_pages": 279}
PID_IN_ARG1 = {"setpriority": (141, 0), "ioprio_set": (251, 1)}  # (number, the "which" of one process)
SEALED = {"bind": 49, "link": 86, "linkat": 265, "io_uring_setup": 425, "io_uring_enter": 426,
          "io_uring_register": 427}
MODE_ARG = {"mknod": (133, 1), "mknodat": (259, 2)}  # (number, the argument that holds the mode)


def _arg_low(i):
    return 16 + 8 * i  # seccomp_data.args[i], its low 32 bits (little-endian)


def _assemble(build):
    """Classic BPF from `build(op)`, which calls op(opcode, k, jt, jf, label) for each instruction in
    order: jt/jf name the label to jump to (None: the next instruction). Every program starts by
    killing the process on another architecture or the x32 ABI (the label "kill" must exist)."""
    code = []  # (label, opcode, jump-if-true label, jump-if-false label, k)

    def op(opcode, k, jt=None, jf=None, label=None):
        code.append((label, opcode, jt, jf, k))

    op(LD_ABS, 4)  # arch
    op(JEQ, AUDIT_ARCH_X86_64, None, "kill")
    op(LD_ABS, 0)  # nr
    op(JGE, X32_BIT, "kill", None)
    build(op)
    where = {label: i for i, (label, *_rest) in enumerate(code) if label}
    program = b""
    for i, (_label, opcode, jt, jf, k) in enumerate(code):
        offsets = [0 if target is None else where[target] - i - 1 for target in (jt, jf)]
        assert all(0 <= o < 256 for o in offsets), "a jump out of BPF's reach"
        program += struct.pack("<HBBI", opcode, offsets[0], offsets[1], k)
    return program


def kernel_filter(own_pid):
    """The BPF program (bytes of struct sock_filter) for a kernel whose PID is `own_pid`."""

    def build(op):
        for nr in REFUSED.values():
            op(JEQ, nr, "deny", None)
        for nr in PID_IN_ARG0.values():
            op(JEQ, nr, "pid0", None)
        for nr, _which in PID_IN_ARG1.values():
            op(JEQ, nr, f"which{nr}", None)
        op(RET, RET_ALLOW)
        for nr, which in PID_IN_ARG1.values():
            op(LD_ABS, _arg_low(0), label=f"which{nr}")
            op(JEQ, which, "pid1", "deny")
        for i in (0, 1):
            op(LD_ABS, _arg_low(i), label=f"pid{i}")
            op(JEQ, 0, "allow", None)
            op(JGE, 0x80000000, f"negative{i}", None)
            op(JGE, own_pid, "allow", "deny")
            op(JGT, 2**32 - own_pid, "deny", "allow", label=f"negative{i}")
        op(RET, RET_ALLOW, label="allow")
        op(RET, RET_EPERM, label="deny")
        op(RET, RET_KILL_PROCESS, label="kill")

    return _assemble(build)


def seal_filter():
    """The seal: the BPF program of a kernel that has bound its sockets and serves nothing more.

    Refused with EPERM:

    - bind, of any family: a Unix socket bound to a path is a new entry in a folder, and the
      kernel's connection folder is on the real disk, where Landlock lets the kernel make
      sockets (ZeroMQ's, bound by ipykernel before the seal); after start a grading kernel has
      nothing to serve, and no course notebook binds (an abstract or unbound socket still works);
    - link and linkat: Landlock lets a hard link of one of the kernel's own sockets through;
    - mknod and mknodat of a socket (the mode's S_IFMT bits; a FIFO or a regular file is
      Landlock's business, which refuses both in that folder);
    - io_uring_setup, io_uring_enter and io_uring_register: the operations of an io_uring
      (IORING_OP_SOCKET, IORING_OP_BIND, IORING_OP_LINKAT, …) never pass through seccomp.

    Any other architecture or the x32 ABI: the process is killed. It is installed with
    SECCOMP_FILTER_FLAG_TSYNC (see `seal`): the kernel's threads exist by then, and a second
    Landlock layer would confine only the thread that installs it (no TSYNC for Landlock).
    """

    def build(op):
        for nr in SEALED.values():
            op(JEQ, nr, "deny", None)
        for nr, arg in MODE_ARG.values():
            op(JEQ, nr, f"mode{arg}", None)
        op(RET, RET_ALLOW)
        for nr, arg in MODE_ARG.values():
            op(LD_ABS, _arg_low(arg), label=f"mode{arg}")
            op(AND, S_IFMT)
            op(JEQ, S_IFSOCK, "deny", "allow")
        op(RET, RET_ALLOW, label="allow")
        op(RET, RET_EPERM, label="deny")
        op(RET, RET_KILL_PROCESS, label="kill")

    return _assemble(build)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def supported():
    return platform.system() == "Linux" and platform.machine() == "x86_64"


def _prog(program):
    buffer = ctypes.create_string_buffer(program, len(program))
    return buffer, _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))


def install(own_pid):
    """Install the kernel filter in this (single-threaded) process; raise OSError if the kernel refuses."""
    _buffer, prog = _prog(kernel_filter(own_pid))
    libc = ctypes.CDLL(None, use_errno=True)
    for args in ((PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
                 (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0)):
        if libc.prctl(*[ctypes.c_ulong(a) for a in args]) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl{args[:2]} refused the seccomp filter")


def seal():
    """Install the seal in every thread of this process (SECCOMP_FILTER_FLAG_TSYNC, Linux 3.17) and
    so in every process it starts later; raise OSError where it cannot be."""
    if not supported():
        raise OSError(0, f"no seccomp filter for {platform.system()} on {platform.machine()}")
    _buffer, prog = _prog(seal_filter())
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(*[ctypes.c_ulong(a) for a in (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)]) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "PR_SET_NO_NEW_PRIVS refused")
    result = libc.syscall(ctypes.c_long(SECCOMP), ctypes.c_ulong(SECCOMP_SET_MODE_FILTER),
                          ctypes.c_ulong(SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(prog))
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) refused the seal: {os.strerror(errno)}")
    if result > 0:  # the id of a thread that could not take it
        raise OSError(0, f"thread {result} could not take the seal")
