# Starts grading kernels by forking a process that imported torch once: the zygote, its client, the launcher.
# Never forks outside the zygote's sandbox (unless grading was told to run unsandboxed); never leaves a fork's process alive.
"""Grading kernels forked from a process that has already imported torch (class grading).

Starting a kernel and importing torch and matplotlib costs about three seconds, more than many
notebooks spend on the student's code. Each grading worker therefore keeps one *zygote*: a
process that imports ipykernel, torch and matplotlib once, then forks a fresh kernel for every
notebook. The zygote itself runs under the same bubblewrap sandbox as any grading kernel
(mlpcourse.sandbox): its forks can see and write only the worker's kernel folder. When a kernel
ends, and again before the next one, the zygote kills every process left in its sandbox (a
student's background process included), and the kernel manager empties that folder.

jupyter_client still starts and watches an ordinary process, the *launcher*
(``python zygote.py launch {connection_file} SOCKET MEMORY_MB``): it asks the zygote for a kernel,
forwards interrupts to it, and exits with the kernel's exit status, so a kernel that dies
is seen as dead, and a launcher that is killed takes its kernel with it.
"""
from __future__ import annotations

import ctypes
import json
import os
import selectors
import signal
import socket
import shutil
import subprocess
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
# every call the worker makes to its zygote is answered within this many seconds, or the zygote is
# replaced (its start, which imports torch on a busy machine, gets START_TIMEOUT)
ZYGOTE_TIMEOUT = 30
START_TIMEOUT = 300
# modules of mlpcourse this script imports from beside it; inside the sandbox each is mlpcourse_NAME
SIBLINGS = ("seccomp", "landlock", "sealed_kernel")


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _set_dumpable(on):
    """Off: no process of the same user may ptrace this one, open its /proc/PID/mem or use
    process_vm_readv/writev on it (the kernel checks dumpability before any of them)."""
    _libc().prctl(PR_SET_DUMPABLE, int(on), 0, 0, 0)


def _recv_line(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    return json.loads(data)


def _send(conn, message):
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass


# --- inside the forked kernel ----------------------------------------------------------------


def _sibling(name, sandboxed):
    """A module of mlpcourse beside this script (inside the sandbox, where Zygote binds it: mlpcourse_NAME)."""
    return __import__(f"mlpcourse_{name}" if sandboxed else name)


def _landlock(sandboxed):
    return _sibling("landlock", sandboxed)


def _become_kernel(request, closing, sandboxed):
    """Runs in the fresh fork: shut it in, then turn it into an IPython kernel. Never returns."""
    code = 1
    try:
        for s in closing:
            s.close()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        os.setsid()
        _die_with_parent()
        env = request["env"]
        import resource

        memory = int(request.get("memory_mb") or 0)
        if memory:
            cap = memory * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        file_cap = int(request.get("file_mb") or 0) * 1024 * 1024
        if file_cap:  # no file it writes grows beyond this (Python then raises "File too large")
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_cap, file_cap))
        _set_dumpable(True)  # the kernel's own business; the zygote stays undumpable
        # its files, into its tmpfs (the cwd's parent; SEED beside it); then it may write nowhere else
        landlock = _landlock(sandboxed)
        disk = os.path.dirname(request["cwd"])
        folder = os.path.dirname(disk)
        landlock.fill(os.path.join(folder, landlock.SEED), disk)
        os.chdir(request["cwd"])
        if sandboxed and not landlock.restrict([disk, "/dev/shm"], sockets_only=[folder]):
            print("Landlock is not available: the kernel's connection folder is not capped", file=sys.stderr)
        if sandboxed:  # nothing towards the zygote or pid 1: no ptrace, signals, limits (mlpcourse.seccomp)
            _sibling("seccomp", sandboxed).install(os.getpid())
        os.environ.clear()
        os.environ.update(env)
        if env.get("MPLBACKEND") and "matplotlib" in sys.modules:
            # the zygote imported matplotlib with Agg; pyplot loads the kernel's backend at the first figure
            sys.modules["matplotlib"].rcParams["backend"] = env["MPLBACKEND"]
        log = os.open(os.path.join(env.get("HOME", request["cwd"]), "kernel.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], "--IPKernelApp.log_level=ERROR"]
        # sealed once its sockets are bound: no bind, link or socket node after that (mlpcourse.seccomp)
        _sibling("sealed_kernel", sandboxed).start(sys.argv[1:], _sibling("seccomp", True) if sandboxed else None)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, then leave the fork without running the zygote's code
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush() if sys.stdout else None
        os._exit(code)


# --- the zygote --------------------------------------------------------------------------------


def preload():
    """Import what every section notebook imports first (the zygote does this once)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import ipykernel.kernelapp  # noqa: F401
    # what IPKernelApp.initialize would import in every fork (the debugger alone is debugpy)
    import ipykernel.debugger  # noqa: F401
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.zmqshell  # noqa: F401
    import IPython  # noqa: F401
    import IPython.core.completerlib  # noqa: F401
    import IPython.core.debugger  # noqa: F401
    import IPython.core.oinspect  # noqa: F401
    import IPython.extensions.storemagic  # noqa: F401
    import pdb  # noqa: F401
    import psutil  # noqa: F401
    import sqlite3  # noqa: F401
    import tornado.platform.asyncio  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import torch  # noqa: F401
    import torch.nn.functional  # noqa: F401


def serve(fd, sandboxed):
    """Accept kernel requests on the listening Unix socket `fd` until the parent process goes away."""
    # Not PR_SET_PDEATHSIG here: it follows the *thread* that started us (a Dask worker thread),
    # not the worker process. bwrap's --die-with-parent and the loop below watch the parent instead.
    parent = os.getppid()
    _set_dumpable(False)  # before anything else: no kernel it forks may ptrace it or read its memory
    if sandboxed:  # mlpcourse/seccomp.py and sealed_kernel.py, bound beside this script in the sandbox
        for name in ("seccomp", "sealed_kernel"):
            _sibling(name, sandboxed)
    disk = os.path.abspath(_landlock(sandboxed).DISK)  # its kernels' tmpfs, in its folder (its cwd)
    preload()
    listener = socket.socket(fileno=fd)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    clients = {}  # conn -> kernel pid
    print("ready", flush=True)
    while True:
        for key, _ in sel.select(timeout=0.05):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                request = _recv_line(conn)
                if request is None:
                    conn.close()
                elif request.get("clear"):
                    for other, pid in list(clients.items()):
                        _kill(pid, signal.SIGKILL)
                        sel.unregister(other)
                        other.close()
                    clients.clear()
                    _send(conn, {"cleared": _kill_the_rest(disk) if sandboxed else 0, "pid": os.getpid()})
                    conn.close()
                else:
                    pid = os.fork()
                    if pid == 0:
                        _become_kernel(request, [sel, listener, conn, *clients], sandboxed)
                    clients[conn] = pid
                    sel.register(conn, selectors.EVENT_READ)
                    _send(conn, {"pid": pid})
            else:
                conn = key.fileobj
                try:
                    message = _recv_line(conn)
                except (OSError, ValueError):
                    message = None
                pid = clients.get(conn)
                if message is None:  # the launcher is gone: so is its kernel
                    _kill(pid, signal.SIGKILL)
                    sel.unregister(conn)
                    conn.close()
                    clients.pop(conn, None)
                elif "signal" in message:
                    _kill(pid, int(message["signal"]))
        for conn, pid in list(clients.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                del clients[conn]
                if sandboxed and not clients:  # what the kernel started dies with it
                    _kill_the_rest(disk)
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                sel.unregister(conn)
                conn.close()
        if os.getppid() != parent:  # the worker is gone: so are its kernels (they die with us)
            return


def _kill_the_rest(disk):
    """Kill every process of this sandbox but its init (bwrap) and the zygote, empty its /dev/shm and
    the kernels' tmpfs `disk` (what the kernel wrote; the kernel manager empties the rest of the
    kernel folder), and return how many were killed. Only inside the sandbox: there /proc lists
    only its own processes."""
    me, killed = os.getpid(), set()
    for _sweep in range(200):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others:
            break
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        while True:  # reap our own children; bwrap reaps the rest
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        time.sleep(0.01)
    for folder in ("/dev/shm", disk):
        if os.path.isdir(folder):
            for entry in os.listdir(folder):
                path = os.path.join(folder, entry)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
    return len(killed)


def _kill(pid, sig):
    if pid:
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, sig)


class Zygote:
    """One zygote process, started on first use (one per grading worker), in bubblewrap's sandbox:
    it sees the kernel folder `self.folder` (writable) and the data folder `self.data` (read-only).
    A kernelspec starts `launcher` (this file, run by path as a plain script) to ask it for a fork,
    and waits `timeout` seconds for its answers."""

    launcher = Path(__file__).resolve()
    timeout = ZYGOTE_TIMEOUT

    def __init__(self, base, unsandboxed=False, program="bwrap", shm_mb=0, disk_mb=0):
        from .notebooks import NUMERIC_PINS
        from .sandbox import NAMES_INSIDE, ZYGOTE_INSIDE, bwrap_argv, bwrap_problem, kernel_environment

        _remove_stale(base)
        home = Path(base) / f"zygote-{os.getpid()}"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(mode=0o700)
        self.path = str(home / "socket")
        self.folder, self.data = home / "kernel", home / "data"
        for folder in (self.folder, self.data):
            folder.mkdir()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        os.chmod(self.path, 0o600)
        listener.listen(64)
        fd = listener.fileno()
        problem = bwrap_problem(program)
        self.sandboxed = not problem
        if problem and not unsandboxed:
            raise RuntimeError(problem)
        env = {**kernel_environment(self.folder, "Agg"), **NUMERIC_PINS}
        script = str(Path(__file__).resolve())
        if self.sandboxed:
            # the data folder is filled later (names_file), and seen inside through this bind
            cmd = bwrap_argv(self.folder, None, [sys.executable, ZYGOTE_INSIDE, "serve", str(fd), "sandboxed"],
                             files=[(script, ZYGOTE_INSIDE), (self.data, os.path.dirname(NAMES_INSIDE)),
                                    *[(Path(script).with_name(f"{name}.py"),
                                       str(Path(ZYGOTE_INSIDE).with_name(f"mlpcourse_{name}.py")))
                                      for name in SIBLINGS]],
                             program=program, shm_mb=shm_mb, disk_mb=disk_mb)
        else:
            env["MAKEMORE_NAMES"] = str(self.data / "names.txt")
            cmd = [sys.executable, script, "serve", str(fd), "unsandboxed"]
        self.proc = subprocess.Popen(cmd, env=env, pass_fds=[fd], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        listener.close()
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            line = self.proc.stdout.readline() if sel.select(START_TIMEOUT) else b""
        if line.strip() != b"ready":
            self.close()
            raise RuntimeError(f"the grading zygote did not start within {START_TIMEOUT} s")

    def names_file(self, names):
        """The path of this zygote's names.txt (written from `names`, bytes, the first time)."""
        path = self.data / "names.txt"
        if not path.exists():
            path.write_bytes(names)
            path.chmod(0o444)
        return path

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        """Kill the zygote's sandbox (bwrap's --die-with-parent takes the zygote and its kernels along)."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def problem(self):
        """Why this zygote may no longer fork kernels, or None. Checked by the worker before and after
        every notebook: the zygote must be alive, neither it nor its sandbox's init may be stopped or
        traced (/proc/PID/status, seen from outside the sandbox), and it must answer a clear request
        (kill what the last kernel left) within ZYGOTE_TIMEOUT seconds."""
        from .sandbox import clear_zygote

        if not self.alive():
            return "the grading zygote is gone"
        for pid in _sandbox_processes(self.proc.pid):
            state, tracer = _state(pid)
            if state in ("T", "t"):
                return f"a process of the zygote's sandbox (pid {pid}) was stopped"
            if tracer:
                return f"a process of the zygote's sandbox (pid {pid}) is traced by pid {tracer}"
        try:
            clear_zygote(self.path, timeout=ZYGOTE_TIMEOUT)
        except (OSError, RuntimeError, ValueError) as exc:
            return f"the grading zygote did not answer within {ZYGOTE_TIMEOUT} s ({exc})"
        return None


def _children():
    """{pid: [child pids]} of every process this worker can see."""
    tree = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path("/proc", entry, "stat").read_text()
            except OSError:
                continue
            tree.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return tree


def _sandbox_processes(bwrap_pid):
    """bwrap, its init inside the sandbox and the zygote (the first child of each, host pids)."""
    tree, chain = _children(), [bwrap_pid]
    while len(chain) < 3 and tree.get(chain[-1]):
        chain.append(min(tree[chain[-1]]))
    return chain


def _state(pid):
    """(state letter, tracer pid) of a process, from /proc/PID/status; ("", 0) once it is gone."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    except OSError:
        return "", 0
    return fields.get("State", " ").split()[0], int(fields.get("TracerPid", "0").strip() or 0)


def _remove_stale(base):
    """Remove the folders of zygotes whose worker process is gone."""
    for home in Path(base).glob("zygote-*"):
        tag = home.name.split("-", 1)[1]
        if tag.isdigit() and not os.path.exists(f"/proc/{tag}"):
            shutil.rmtree(home, ignore_errors=True)


_zygote = None


def shared_zygote(base, unsandboxed=False, program="bwrap", shm_mb=0, disk_mb=0):
    """This worker's zygote, started if needed; its socket and folders live in `base`."""
    global _zygote
    if _zygote is None or not _zygote.alive():
        _zygote = Zygote(base, unsandboxed, program, shm_mb, disk_mb)
    return _zygote


def replace_zygote():
    """Kill this worker's zygote (it failed Zygote.problem); the next shared_zygote starts a new one."""
    global _zygote
    if _zygote is not None:
        _zygote.close()
        _zygote = None


# --- the launcher (what jupyter_client starts) -----------------------------------------------------


def launch(connection_file, zygote_path, memory_mb="0", file_mb="0"):
    """Ask the zygote at zygote_path for a kernel (address space capped at memory_mb MiB, files at
    file_mb MiB, 0: no cap); relay interrupts; exit with the kernel's exit status."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(ZYGOTE_TIMEOUT)  # until the zygote has forked; then as long as the kernel lives
    conn.connect(zygote_path)
    env = {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"}
    request = {"connection_file": os.path.abspath(connection_file), "cwd": os.getcwd(), "env": env,
               "memory_mb": memory_mb, "file_mb": file_mb}
    conn.sendall(json.dumps(request).encode() + b"\n")
    forked = b""
    while not forked.endswith(b"\n"):
        try:
            chunk = conn.recv(1)
        except TimeoutError:
            print(f"the grading zygote did not fork a kernel within {ZYGOTE_TIMEOUT} s", file=sys.stderr)
            return 1
        if not chunk:
            return 1
        forked += chunk
    conn.settimeout(None)

    def forward(sig, _frame):
        _send(conn, {"signal": sig})

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, forward)
    buffer = b""
    while True:
        try:
            chunk = conn.recv(65536)
        except InterruptedError:
            continue
        if not chunk:
            return 1
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            message = json.loads(line)
            if "exit" in message:
                code = message["exit"]
                return code if code >= 0 else 128 - code


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        serve(int(argv[1]), argv[2] == "sandboxed")
        return 0
    if argv[:1] == ["launch"] and len(argv) in (3, 4, 5):
        return launch(*argv[1:])
    print("usage: zygote.py serve FD sandboxed|unsandboxed | launch CONNECTION_FILE ZYGOTE_SOCKET [MEMORY_MB [FILE_MB]]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
