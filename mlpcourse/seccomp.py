# The seccomp filter of a forked grading kernel: no call that reaches a process outside its own tree.
# Never allows ptrace or another process's memory; never lets a kernel signal or retune its zygote.
"""A seccomp filter (classic BPF, built with the stdlib) for kernels forked from the zygote.

A forked kernel shares its sandbox's PID namespace with the zygote that forks the next student's
kernel (pid 1 is bubblewrap's init, the zygote comes next, every kernel is younger than both).
The zygote is not dumpable (PR_SET_DUMPABLE 0), which already refuses ptrace, /proc/PID/mem and
process_vm_readv/writev towards it; this filter refuses them in the kernel as well, and the calls
that dumpability does not guard:

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

The filter is installed with prctl(PR_SET_SECCOMP) in the fork, after PR_SET_NO_NEW_PRIVS
(bubblewrap sets it too), before any of the student's code runs; children inherit it.
"""
from __future__ import annotations

import ctypes
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_BIT = 0x40000000
RET_ALLOW, RET_KILL_PROCESS, RET_EPERM = 0x7FFF0000, 0x80000000, 0x00050000 | 1
LD_ABS, JEQ, JGE, JGT, RET = 0x20, 0x15, 0x35, 0x25, 0x06
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2

# x86-64 system call numbers
REFUSED = {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "perf_event_open": 298,
           "kcmp": 312, "get_robust_list": 274, "pidfd_send_signal": 424, "pidfd_getfd": 438,
           "process_madvise": 440, "process_mrelease": 448}
PID_IN_ARG0 = {"kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
               "pidfd_open": 434, "prlimit64": 302, "sched_setaffinity": 203, "sched_setscheduler": 144,
               "sched_setparam": 142, "sched_setattr": 314, "migrate_pages": 256, "move_pages": 279}
PID_IN_ARG1 = {"setpriority": (141, 0), "ioprio_set": (251, 1)}  # (number, the "which" of one process)


def _arg_low(i):
    return 16 + 8 * i  # seccomp_data.args[i], its low 32 bits (little-endian)


def kernel_filter(own_pid):
    """The BPF program (bytes of struct sock_filter) for a kernel whose PID is `own_pid`."""
    code = []  # (opcode, jump-if-true label, jump-if-false label, k); labels: None (next), "allow", "deny", ...

    def op(opcode, k, jt=None, jf=None, label=None):
        code.append((label, opcode, jt, jf, k))

    op(LD_ABS, 4)  # arch
    op(JEQ, AUDIT_ARCH_X86_64, None, "kill")
    op(LD_ABS, 0)  # nr
    op(JGE, X32_BIT, "kill", None)
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
    where = {label: i for i, (label, *_rest) in enumerate(code) if label}
    program = b""
    for i, (_label, opcode, jt, jf, k) in enumerate(code):
        offsets = [0 if target is None else where[target] - i - 1 for target in (jt, jf)]
        assert all(0 <= o < 256 for o in offsets), "a jump out of BPF's reach"
        program += struct.pack("<HBBI", opcode, offsets[0], offsets[1], k)
    return program


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def supported():
    return platform.system() == "Linux" and platform.machine() == "x86_64"


def install(own_pid):
    """Install the filter in this (single-threaded) process; raise OSError if the kernel refuses."""
    program = kernel_filter(own_pid)
    buffer = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    for args in ((PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
                 (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0)):
        if libc.prctl(*[ctypes.c_ulong(a) for a in args]) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl{args[:2]} refused the seccomp filter")
