# Shuts every grading kernel in with bubblewrap: the system read-only, a folder of its own, nothing of the course.
# Never grades, never writes outside a kernel's own folder, never starts an unsandboxed kernel unless told to.
"""The sandbox of a grading kernel, for ``nbgrader autograde`` and the class grader alike.

nbgrader starts each kernel through nbclient's kernel manager; the course's config makes that
manager ``SandboxedKernelManager``. For every kernel it

- makes a kernel folder of its own (in a fresh temporary folder) and copies the notebook's
  folder into its seed/work (its makemore.py, files handed in with it; not the notebook, whose
  copy there holds the hidden tests); inside the sandbox, disk/ is a tmpfs of disk_limit_mb
  into which seed/ is copied, and the kernel runs in disk/work with its home in disk/home:
  nothing it writes reaches the real disk, the course, the gradebook or autograded/, and
  Landlock (mlpcourse.landlock) keeps it from writing anything but sockets beside disk/;
- starts the kernel under bubblewrap (``bwrap``, the sandbox Flatpak uses): a user namespace
  in which it is uid 65534 with every capability dropped and no new privileges, its own PID
  namespace (every process it starts dies with it), no network (it talks to nbgrader over
  ZeroMQ's ipc transport, Unix sockets in its folder), and a file system that holds only the
  system's programs and libraries, Python and its packages, the verified names.txt (all read
  only) and its own folder. The course, the instructor's notebooks, the answer catalogue, the
  gradebook and every other student's files are not there at all;
- caps its address space and each file it writes, and removes its folder when the kernel is gone.

The class grader forks its kernels from a per-worker process that has imported torch already
(mlpcourse.zygote); that process runs under the same bubblewrap command, and before each
kernel it kills every process left in its sandbox and the manager empties the kernel folder.

Where ``bwrap`` cannot run, no kernel is started unless the instructor says
``--SandboxedKernelManager.unsandboxed=True`` (``python -m mlpcourse grade --unsandboxed``).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, Unicode

from .landlock import DISK, SEED
from .landlock import abi as landlock_abi
from .landlock import fill as fill_disk
from .notebooks import INLINE_BACKEND, NUMERIC_PINS
from .ready_made import FOLDER as READY_MADE
from .ready_made import write_ready_made
from .runtime import READY_MADE_ENV

SANDBOX_UID = 65534  # "nobody" inside the sandbox
NAMES_INSIDE = "/course-data/names.txt"  # where a kernel finds the verified names.txt
ZYGOTE_INSIDE = "/course-code/zygote.py"  # where the zygote's script is, inside its sandbox
LANDLOCK_INSIDE = "/course-code/mlpcourse_landlock.py"  # mlpcourse/landlock.py, inside a kernel's sandbox
KERNEL_INSIDE = "/course-code/mlpcourse_sealed_kernel.py"  # mlpcourse/sealed_kernel.py, beside it
SECCOMP_INSIDE = "/course-code/mlpcourse_seccomp.py"  # mlpcourse/seccomp.py, which sealed_kernel.py imports
# the few files of /etc a Python process reads (dynamic linker, user and group names, time zone)
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/passwd", "/etc/group",
             "/etc/nsswitch.conf", "/etc/localtime", "/etc/fonts")
UNSANDBOXED_HELP = ("grading kernels run under bubblewrap; install it (Debian: apt-get install bubblewrap) or, "
                    "knowing that a submission can then read and change anything the grader can, pass "
                    "--SandboxedKernelManager.unsandboxed=True (python -m mlpcourse grade --unsandboxed)")


def _system_mounts():
    """bwrap arguments that show the system, Python and its packages, read-only."""
    args = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in ETC_FILES + ("/sys/devices/system/cpu",):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    prefixes = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    # a virtualenv that takes another environment's packages by a .pth file (the users' Python on the
    # course's JupyterHub, mlpcourse/hub_python.py): those site-packages too, and no other folder of
    # sys.path (the course's checkout, where an editable install points, stays out of sight)
    packages = {Path(entry).resolve() for entry in sys.path
                if entry and Path(entry).name in ("site-packages", "dist-packages") and Path(entry).is_dir()}
    packages = {p for p in packages if not any(p.is_relative_to(prefix) for prefix in prefixes)}
    for prefix in sorted(str(p) for p in prefixes | packages):
        if not prefix.startswith("/usr/"):
            args += ["--ro-bind", prefix, prefix]
    return args


def bwrap_argv(folder, names, cmd, cwd=None, files=(), program="bwrap", shm_mb=0, disk_mb=0):
    """`cmd` under bubblewrap: `folder` writable, `names` read-only at NAMES_INSIDE, `files`
    ((source, destination) pairs) read-only, /dev/shm a tmpfs of `shm_mb` MiB (0: bwrap's /dev/shm,
    as large as memory), `folder`/DISK a tmpfs of `disk_mb` MiB (0: the real disk's folder),
    everything else of the machine absent."""
    folder = str(Path(folder).resolve())
    args = [shutil.which(program) or program, "--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID),
            "--gid", str(SANDBOX_UID), "--hostname", "grading", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev", *_system_mounts(),
            # /dev itself read-only: in the zygote's sandbox, what a kernel left there would reach the next one
            *(["--size", str(shm_mb * 1024 * 1024), "--tmpfs", "/dev/shm"] if shm_mb else []), "--remount-ro", "/dev",
            "--bind", folder, folder]
    if disk_mb:
        args += ["--size", str(disk_mb * 1024 * 1024), "--tmpfs", os.path.join(folder, DISK)]
    if names:
        args += ["--ro-bind", str(Path(names).resolve()), NAMES_INSIDE]
    for source, dest in files:
        args += ["--ro-bind", str(source), dest]
    # jupyter_client's JPY_PARENT_PID: inside its own PID namespace the kernel's parent is pid 1,
    # which ipykernel takes for "my parent is gone"; --die-with-parent does that job here
    args += ["--unsetenv", "JPY_PARENT_PID", "--remount-ro", "/", "--chdir", str(cwd or folder), "--", *cmd]
    return args


_problems = {}


def bwrap_problem(program="bwrap"):
    """Why bubblewrap cannot shut a kernel in on this machine, or None when it can."""
    if program not in _problems:
        if not shutil.which(program):
            _problems[program] = f"bubblewrap ({program}) is not installed"
        else:
            with tempfile.TemporaryDirectory() as folder:
                probe = subprocess.run(bwrap_argv(folder, None, [sys.executable, "-c", "pass"], program=program,
                                                  shm_mb=1),
                                       capture_output=True, text=True)
            _problems[program] = "" if probe.returncode == 0 else f"bwrap does not run here: {probe.stderr.strip()[:200]}"
    return _problems[program] or None


LANDLOCK_HELP = ("Landlock (Linux 5.13 or later) is not available: a grading kernel could fill the disk with files "
                 "beside its connection file, which only Landlock keeps to its capped folder; grade on a newer "
                 "Linux or, knowing that, set c.SandboxedKernelManager.landlock_required = False")


def landlock_problem(required=True):
    """Why a sandboxed kernel cannot be capped on this machine (no Landlock) while that is required, or None."""
    return LANDLOCK_HELP if required and landlock_abi() < 1 else None


def kernel_environment(folder, backend=INLINE_BACKEND):
    """What a grading kernel's environment holds: nothing of the grader's (no database URL, no
    tokens), only its own folders, the data, the numeric pins and the figure backend."""
    home = Path(folder) / DISK / "home"
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(home), "TMPDIR": str(home),
            "MPLCONFIGDIR": str(home / ".mpl"), "MPLBACKEND": backend, "MAKEMORE_NAMES": NAMES_INSIDE,
            "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", **NUMERIC_PINS}


def copy_notebook_folder(source, work):
    """The notebook's folder as the kernel gets it: regular files and folders only, no links and no
    notebook (nbgrader's copy beside it holds the hidden tests, and the kernel needs none)."""
    for entry in os.scandir(source):
        if entry.is_symlink() or entry.name.endswith(".ipynb"):
            continue
        if entry.is_dir():
            work.joinpath(entry.name).mkdir()
            copy_notebook_folder(entry.path, work / entry.name)
        elif entry.is_file():
            shutil.copyfile(entry.path, work / entry.name)


def _seed_font_cache(mplconfig):
    """Copy this user's matplotlib font list into a kernel's fresh MPLCONFIGDIR: without it,
    matplotlib rebuilds the list at a fresh kernel's first figure."""
    cache = Path(os.environ.get("MPLCONFIGDIR") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"),
                                                          "matplotlib"))
    fonts = sorted(cache.glob("fontlist-v*.json")) if cache.is_dir() else []
    if fonts:
        mplconfig.mkdir(parents=True, exist_ok=True)
        for font in fonts:
            shutil.copyfile(font, mplconfig / font.name)


def empty_folder(folder):
    """Empty a kernel folder of the zygote's sandbox, but for DISK: the zygote's tmpfs is mounted there
    (removing the folder would unmount it), and the zygote empties it itself."""
    for entry in os.scandir(folder):
        if entry.name == DISK:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            os.unlink(entry.path)


class SandboxedKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, with every kernel shut in by bubblewrap (see the module's text)."""

    unsandboxed = Bool(False, help="Start kernels without the sandbox where bubblewrap cannot run (a "
                                   "submission can then read and change anything the grader can).").tag(config=True)
    memory_limit_mb = Integer(4096, help="Address-space cap (MiB) of each grading kernel; 0: none.").tag(config=True)
    file_limit_mb = Integer(256, help="Largest file (MiB) a grading kernel may write (RLIMIT_FSIZE: a bigger "
                                      "write fails with 'File too large'); 0: none.").tag(config=True)
    shm_limit_mb = Integer(64, help="Size (MiB) of a grading kernel's /dev/shm, a tmpfs of its own (memory the "
                                    "address-space cap does not count); 0: bwrap's default.").tag(config=True)
    disk_limit_mb = Integer(512, help="Size (MiB) of a grading kernel's working folder and home, a tmpfs of its "
                                      "own into which its notebook's files are copied (a write past it fails with "
                                      "'No space left on device'); nothing it writes reaches the real disk. "
                                      "0: a folder of the real disk, uncapped.").tag(config=True)
    landlock_required = Bool(True, help="Refuse to start a sandboxed grading kernel where Landlock (Linux 5.13 "
                                        "or later) is missing: without it the kernel's folder on the real disk "
                                        "is not capped. False: grade anyway.").tag(config=True)
    ready_made = Bool(True, help="Build the data sets a section's notebook starts with once per grading "
                                 "process and put them in each kernel's folder, where its makemore.py loads "
                                 "them (mlpcourse.ready_made).").tag(config=True)
    names_file = Unicode("", help="The names.txt kernels read (default: the course's data/names.txt)."
                         ).tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap program.").tag(config=True)

    _folder = None
    _own_folder = False

    def _names(self):
        if self.names_file:
            return self.names_file
        from .course import COURSE_ROOT

        root = self.config.CourseDirectory.get("root")
        if root and Path(root, "data", "names.txt").is_file():
            return str(Path(root, "data", "names.txt"))
        return os.environ.get("MAKEMORE_NAMES") or str(COURSE_ROOT / "data" / "names.txt")

    async def _async_pre_start_kernel(self, **kw):
        spec_env = dict(self.kernel_spec.env or {})
        zygote = self.kernel_spec.metadata.get(ZYGOTE_METADATA)  # {"path": its socket, "folder": …, "timeout": s}
        problem = bwrap_problem(self.bwrap)
        if problem and not self.unsandboxed:
            raise RuntimeError(f"{problem}: {UNSANDBOXED_HELP}")
        if not problem and landlock_problem(self.landlock_required):
            raise RuntimeError(landlock_problem())
        if self._own_folder and self._folder is not None:  # a restart: the last kernel's folder goes
            shutil.rmtree(self._folder, ignore_errors=True)
        if zygote:  # forked inside the zygote's sandbox, in the folder that sandbox can write
            self._folder, self._own_folder = Path(zygote["folder"]), False
            clear_zygote(zygote["path"], zygote["timeout"])
            empty_folder(self._folder)
        else:
            self._folder, self._own_folder = Path(tempfile.mkdtemp(prefix="kernel-")), True
        folder = self._folder
        seed, disk = folder / SEED, folder / DISK
        for sub in (seed / "work", seed / "home", disk / "work", disk / "home"):
            sub.mkdir(parents=True, exist_ok=True)  # DISK's folders: the launcher's cwd outside the sandbox
        _seed_font_cache(seed / "home" / ".mpl")
        ready = None
        if kw.get("cwd"):
            copy_notebook_folder(kw["cwd"], seed / "work")
            if self.ready_made:
                root = self.config.CourseDirectory.get("root") or os.getcwd()
                source = Path(root, "source", Path(kw["cwd"]).name)
                ready = write_ready_made(folder / READY_MADE, source, seed / "work", self._names())
        work = disk / "work"
        kw["cwd"] = str(work)
        # ZeroMQ over Unix sockets in the kernel's folder: the sandbox has no network
        self.transport, self.cache_ports = "ipc", False
        self.connection_file = str(folder / "kernel.json")
        self.ip = str(folder / "ipc")
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        env = {**kernel_environment(folder, spec_env.pop("MPLBACKEND", INLINE_BACKEND)), **spec_env}
        if ready is not None:
            env[READY_MADE_ENV] = str(ready)
        if problem:
            self.log.warning("UNSANDBOXED grading kernel: %s", problem)
            env["MAKEMORE_NAMES"] = self._names()
        if zygote:  # the launcher's arguments: the zygote's socket, the fork's memory cap (the fork fills DISK)
            kernel_cmd = [*kernel_cmd, zygote["path"], str(self.memory_limit_mb), str(self.file_limit_mb)]
        else:
            if problem:
                fill_disk(seed, disk)
            else:  # copies SEED into DISK inside the sandbox, confines the kernel's writes, then execs
                # the kernel, which seals itself once its sockets are bound (mlpcourse.sealed_kernel)
                kernel_cmd = [sys.executable, "-S", LANDLOCK_INSIDE, str(seed), str(disk), str(folder), "--",
                              *sealed_kernel_argv(kernel_cmd)]
            if self.memory_limit_mb or self.file_limit_mb:  # ulimit's units: KiB, and 512-byte blocks
                kernel_cmd = ["/bin/sh", "-c", 'ulimit -c 0; [ "$1" = 0 ] || ulimit -v "$1"; '
                              '[ "$2" = 0 ] || ulimit -f "$2"; shift 2; exec "$@"', "limit",
                              str(self.memory_limit_mb * 1024), str(self.file_limit_mb * 2048), *kernel_cmd]
            if not problem:
                # interrupts travel as messages: a signal to bwrap does not reach the kernel
                self.kernel_spec.interrupt_mode = "message"
                kernel_cmd = bwrap_argv(folder, self._names(), kernel_cmd, cwd=disk, program=self.bwrap,
                                        shm_mb=self.shm_limit_mb, disk_mb=self.disk_limit_mb,
                                        files=[(Path(__file__).with_name(f"{name}.py"), inside) for name, inside in
                                               (("landlock", LANDLOCK_INSIDE), ("sealed_kernel", KERNEL_INSIDE),
                                                ("seccomp", SECCOMP_INSIDE))])
        kw["env"] = env
        kw["stdout"] = subprocess.DEVNULL  # ipykernel's "to connect another client" banner
        return kernel_cmd, kw

    pre_start_kernel = _async_pre_start_kernel  # AsyncKernelManager binds the base class's at class creation

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self._own_folder and self._folder is not None and not restart:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    cleanup_resources = _async_cleanup_resources


def sealed_kernel_argv(kernel_cmd):
    """A kernelspec's ``PYTHON -m ipykernel_launcher ARGS`` as ``PYTHON KERNEL_INSIDE ARGS``: the same
    kernel, sealed once its sockets are bound. Any other kernel is refused (RuntimeError)."""
    for i in range(len(kernel_cmd) - 1):
        if kernel_cmd[i] == "-m" and kernel_cmd[i + 1] in ("ipykernel_launcher", "ipykernel"):
            return [*kernel_cmd[:i], KERNEL_INSIDE, *kernel_cmd[i + 2:]]
    raise RuntimeError(f"a grading kernel must be ipykernel (python -m ipykernel_launcher), not {kernel_cmd}")


def clear_zygote(path, timeout=30):
    """Ask a zygote to kill every process left in its sandbox; return once it has (OSError, a
    TimeoutError among them, if it does not answer within `timeout` seconds)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall(json.dumps({"clear": True}).encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                raise RuntimeError("the grading zygote did not answer")
            reply += chunk


GRADING_KERNEL = "mlpcourse-graded"
ZYGOTE_METADATA = "mlpcourse_zygote"  # the kernelspec's metadata key that names a worker's zygote


def write_kernelspec(scratch, template, zygote=None):
    """The class grader's kernelspec: Python, or a launcher that asks this worker's zygote for a fork."""
    backend = INLINE_BACKEND if template["limits"].get("figures", True) else "Agg"
    env, metadata = {"MPLBACKEND": backend}, {}
    if zygote is not None:
        # the launcher runs as a plain script (-S, by path): it must not import torch itself
        argv = [sys.executable, "-S", str(zygote.launcher), "launch", "{connection_file}"]
        metadata[ZYGOTE_METADATA] = {"path": zygote.path, "folder": str(zygote.folder), "timeout": zygote.timeout}
    else:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.log_level=ERROR"]
    spec = {"argv": argv, "display_name": "Python 3 (graded)", "language": "python", "env": env, "metadata": metadata}
    folder = scratch / "jupyter" / "kernels" / GRADING_KERNEL
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return scratch / "jupyter"
