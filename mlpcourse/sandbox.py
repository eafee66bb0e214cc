# Shuts a grading kernel in: what it may see and write, and the kernelspec that starts it that way.
# Never grades and never writes outside the scratch course it is given.
"""The sandbox of a grading kernel (used by mlpcourse.grade_notebook for every notebook it grades).

A kernel runs in its own mount namespace (as root, or in a user namespace otherwise): its
scratch course is the only writable place, the other scratch folders are hidden under a tmpfs,
and the course, Python and the packages are read-only. A kernel forked from the worker's zygote
(mlpcourse.zygote) is shut in by the same mounts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .notebooks import INLINE_BACKEND, NUMERIC_PINS
from .zygote import _MOUNTS

# The same mounts as a zygote's fork (mlpcourse.zygote), then the kernel command in that folder.
_SANDBOX = 'here="$PWD"\n' + _MOUNTS + 'cd "$here"\nexec "$@"\n'


_sandbox_mode = None


def sandbox_mode():
    """How grading processes are shut in: 'root' or 'user' mount namespace, or None if neither works."""
    global _sandbox_mode
    if _sandbox_mode is None:
        _sandbox_mode = ""
        for mode, flags in (("root", []), ("user", ["-r"])):
            if mode == "root" and os.geteuid() != 0:
                continue
            probe = subprocess.run(["unshare", *flags, "--mount", "--propagation", "private", "sh", "-c",
                                    "mount -t tmpfs tmpfs /mnt && umount /mnt"], capture_output=True)
            if probe.returncode == 0:
                _sandbox_mode = mode
                break
    return _sandbox_mode or None


def readonly_paths(extra=()):
    """Everything a submission could reach and must not change: the course, Python, the packages."""
    import mlpcourse

    paths = {*(Path(p).resolve() for p in extra), Path(mlpcourse.__file__).resolve().parent.parent, Path(sys.prefix).resolve(),
             Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    return sorted(str(p) for p in paths if p.exists() and " " not in str(p))


def sandboxed(cmd, scratch, base, readonly=()):
    """cmd wrapped so that it sees only its own scratch course and cannot write anything else."""
    mode = sandbox_mode()
    if not mode:
        return cmd, {}
    flags = ["-r"] if mode == "user" else []
    env = {"SCRATCH": str(scratch), "BASE": str(base), "READONLY": " ".join(readonly_paths(readonly))}
    return ["unshare", *flags, "--mount", "--propagation", "private", "sh", "-c", _SANDBOX, "sandbox", *cmd], env


GRADING_KERNEL = "mlpcourse-graded"


def write_kernelspec(scratch, template):
    """A kernelspec whose kernel runs shut in (sandbox), under the memory cap, with the scratch data."""
    limits = template["limits"]
    home = scratch / "home"
    backend = INLINE_BACKEND if limits.get("figures", True) else "Agg"
    env = {"HOME": str(home), "MPLCONFIGDIR": str(home / ".mpl"), "MPLBACKEND": backend,
           "MAKEMORE_NAMES": str(scratch / "data" / "names.txt"), **NUMERIC_PINS,
           "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    mode = sandbox_mode()
    if template.get("zygote") and mode in ("root", None):
        # forked from this worker's zygote, which shuts the fork in the same way (mlpcourse.zygote)
        from . import zygote

        # the launcher runs as a plain script (-S, by path): it must not import torch itself
        argv = [sys.executable, "-S", str(Path(zygote.__file__).resolve()), "launch", "{connection_file}"]
        env.update({"MLPCOURSE_ZYGOTE": template["zygote"], "MLPCOURSE_SANDBOX": mode or "",
                    "MLPCOURSE_MEMORY_MB": str(limits["memory_limit_mb"] or 0), "SCRATCH": str(scratch),
                    "BASE": str(scratch.parent), "READONLY": " ".join(readonly_paths(template.get("readonly", ())))})
    else:
        python = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", "--IPKernelApp.log_level=ERROR"]
        memory = ["sh", "-c", 'ulimit -c 0; ulimit -v "$1"; shift; exec "$@"', "limit",
                  str(limits["memory_limit_mb"] * 1024)] if limits["memory_limit_mb"] else []
        argv, sandbox_env = sandboxed(memory + python, scratch, scratch.parent, template.get("readonly", ()))
        env.update(sandbox_env)
    spec = {"argv": argv, "display_name": "Python 3 (graded)", "language": "python", "env": env}
    folder = scratch / "jupyter" / "kernels" / GRADING_KERNEL
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return scratch / "jupyter"
