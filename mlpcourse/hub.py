"""The course's JupyterHub on one machine: start it in the foreground, stop it, add the class.

    python -m mlpcourse hub roster users.csv [SECTION ...]   accounts, groups, the instructor's course
    python -m mlpcourse hub unroster users.csv               remove them again
    python -m mlpcourse hub run [--port 8000] [--state build/hub]
    python -m mlpcourse hub stop [--state build/hub]
    python -m mlpcourse hub loadtest [--students 10]          a bounded load test (mlpcourse/hub_loadtest.py)

`run` (as root) starts JupyterHub with hub/jupyterhub_config.py in the state folder (its database,
cookie secret, pid file and the students' Jupyter config folder) and waits; Ctrl-C or `stop`
ends it, and JupyterHub stops the proxy and every user's server it started. The exchange is
$NBGRADER_EXCHANGE, /srv/nbgrader/exchange by default, made writable by all as nbgrader makes it.
The users' servers run the course's own Python (mlpcourse/hub_python.py).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .course import COURSE_ROOT
from .hub_python import readable_by_all, users_python
from .student_setup import set_up

HUB_CONFIG = COURSE_ROOT / "hub" / "jupyterhub_config.py"
PROXY = COURSE_ROOT / "build" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
DEFAULT_STATE = COURSE_ROOT / "build" / "hub"
DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"
STUDENT_JUPYTER = "student-jupyter"  # in the state folder: the config folder every student's server reads
PID_FILE = "jupyterhub.pid"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(state, exchange):
    """The state folder, the students' Jupyter config folder in it, and the exchange."""
    state = Path(state).absolute()
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)  # students' servers read STUDENT_JUPYTER in it; the database is the hub's (0600)
    set_up(state / STUDENT_JUPYTER, user="root")
    site_packages = Path(__import__("jupyterhub").__file__).resolve().parent.parent  # the course's packages
    for needed in (COURSE_ROOT, site_packages):
        assert readable_by_all(needed), (f"the users cannot read {needed}: their servers run the course's code "
                                         "and packages from it; put the course where everyone can read it")
    users_python(state, site_packages)
    exchange = Path(exchange)
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o777)
    return state


def command(port, state):
    """The jupyterhub command line: the hub on 127.0.0.1:port, its API and the proxy's on free ports."""
    return [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG), "--ip=127.0.0.1", f"--port={port}",
            f"--JupyterHub.hub_port={free_port()}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
            f"--JupyterHub.pid_file={Path(state) / PID_FILE}"]


def start(port, state, exchange=None, log=None):
    """Start the hub in its own process group; return the Popen (the caller waits or stops it)."""
    assert os.geteuid() == 0, "the hub runs as root: it spawns each user's server as that user"
    assert PROXY.exists(), f"{PROXY} is missing: `make hub` installs configurable-http-proxy with npm"
    exchange = exchange or os.environ.get("NBGRADER_EXCHANGE", DEFAULT_EXCHANGE)
    state = prepare(state, exchange)
    env = {**os.environ, "NBGRADER_EXCHANGE": str(exchange)}
    return subprocess.Popen(command(port, state), cwd=state, env=env, start_new_session=True,
                            stdout=log or None, stderr=subprocess.STDOUT if log else None)


def wait_until_up(proc, port, timeout=120):
    """Wait until the hub's login page answers (or the hub exits: AssertionError)."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"jupyterhub exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/login", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the hub did not answer on 127.0.0.1:{port} within {timeout} s")


def stop(proc_or_pid, timeout=60):
    """SIGTERM the hub (it stops the proxy and the servers it spawned), SIGKILL its group if it lingers."""
    pid = proc_or_pid if isinstance(proc_or_pid, int) else proc_or_pid.pid
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not isinstance(proc_or_pid, int):
            if proc_or_pid.poll() is not None:
                return
        elif not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)


def _option(args, name, default):
    if name in args:
        i = args.index(name)
        value = args[i + 1]
        del args[i:i + 2]
        return value
    return default


def main(argv):
    args = list(argv)
    what = args.pop(0) if args else "help"
    if what in ("roster", "unroster") and args:
        from .hub_roster import add_class, remove_class
        if what == "roster":
            course = add_class(args[0], args[1:] or None)
            print(f"{args[0]}: accounts and groups made; the course directory is {course}")
        else:
            remove_class(args[0])
            print(f"{args[0]}: accounts removed")
        return 0
    state = Path(_option(args, "--state", DEFAULT_STATE))
    if what == "run":
        port = int(_option(args, "--port", 8000))
        proc = start(port, state)
        print(f"JupyterHub on http://127.0.0.1:{port}/ (pid {proc.pid}); Ctrl-C or "
              f"`python -m mlpcourse hub stop` stops it", flush=True)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            stop(proc)
            return 0
    if what == "stop":
        pid_file = state / PID_FILE
        if not pid_file.exists():
            print(f"no {pid_file}: no hub running from {state}")
            return 0
        stop(int(pid_file.read_text()))
        print("JupyterHub stopped")
        return 0
    print(__doc__)
    return 0 if what == "help" else 2
