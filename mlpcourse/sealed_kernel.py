# Starts an IPython kernel in a grading sandbox and seals it (mlpcourse.seccomp) once its sockets are bound.
# Never runs a student's cell before the seal is in place, or before the kernel has said it is missing.
"""An ipykernel sealed between binding its sockets and serving its first request.

ipykernel binds its ZeroMQ sockets in `IPKernelApp.initialize`, the heartbeat's in a thread of
its own that initialize starts; the student's code runs only after `start`. In between, `start`
waits until every ipc socket named in the connection file exists (the heartbeat's too, at most
SOCKETS_TIMEOUT seconds), then installs the seal of mlpcourse/seccomp.py in every thread: from
then on, no bind, link or socket node in the kernel's connection folder. Where the seal cannot
be installed, the kernel says so on its stderr and starts all the same.

Used in the zygote's fork (mlpcourse.zygote) and, by stock ``nbgrader autograde``, as a script
inside the sandbox: ``python KERNEL_INSIDE -f CONNECTION_FILE …`` after landlock.py
(mlpcourse.sandbox binds this file and seccomp.py beside it, as mlpcourse_sealed_kernel.py and
mlpcourse_seccomp.py: mlpcourse itself is not in the sandbox).
"""
from __future__ import annotations

import os
import sys
import time

SECCOMP_MODULE = "mlpcourse_seccomp"  # seccomp.py, beside this file inside a sandbox
SOCKETS_TIMEOUT = 30  # seconds the heartbeat's thread gets to bind its socket


def _ipc_sockets(app):
    """The socket files ipykernel binds (none over tcp, where there is no folder to fill)."""
    if app.transport != "ipc":
        return []
    ports = (app.shell_port, app.iopub_port, app.stdin_port, app.control_port, app.hb_port)
    return [f"{app.ip}-{port}" for port in ports]


def _seal(app, seccomp, say):
    missing = _ipc_sockets(app)
    deadline = time.monotonic() + SOCKETS_TIMEOUT
    while missing and time.monotonic() < deadline:
        missing = [path for path in missing if not os.path.exists(path)]
        if missing:
            time.sleep(0.002)
    if missing:  # sealed all the same: a socket bound later fails, not the seal
        say(f"the kernel's sockets were not all bound within {SOCKETS_TIMEOUT} s: {', '.join(missing)}")
    try:
        seccomp.seal()
    except OSError as exc:
        say(f"the seal is not available ({exc}): the kernel may make sockets and links in its connection folder")


def start(argv, seccomp=None):
    """Initialize an IPKernelApp from `argv` (ipykernel_launcher's arguments), seal it with the
    module `seccomp` (None: no seal, an unsandboxed kernel), and run it until it ends."""
    from ipykernel.kernelapp import IPKernelApp

    stderr = os.dup(2)  # ipykernel's output capture takes fd 2 over; messages go to the kernel's own stderr

    def say(message):
        os.write(stderr, f"{message}\n".encode())

    app = IPKernelApp.instance()
    app.initialize(argv)
    if seccomp is not None:
        _seal(app, seccomp, say)
    os.close(stderr)
    app.start()


def main(argv):
    """KERNEL ARGV: ipykernel_launcher's arguments (-f CONNECTION_FILE …)."""
    sys.argv = ["ipykernel_launcher", *argv]
    start(argv, __import__(SECCOMP_MODULE))


if __name__ == "__main__":
    main(sys.argv[1:])
