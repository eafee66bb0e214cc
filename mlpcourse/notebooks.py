"""Running the course notebooks headless (papermill) and keeping them diff-friendly."""
from __future__ import annotations

import base64
import os
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import nbformat

# Metadata that says when or how a notebook last ran, not what it is.
_VOLATILE_CELL_KEYS = ("execution", "papermill", "ExecuteTime", "collapsed", "scrolled")
_VOLATILE_NB_KEYS = ("papermill", "widgets")


def tidy(nb, drop_injected=True):
    """Strip run-specific metadata, number the cells and return nb (every section)."""
    if drop_injected:
        nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for key in _VOLATILE_NB_KEYS:
        nb.metadata.pop(key, None)
    count = 0
    for cell in nb.cells:
        for key in _VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            if cell.get("outputs"):
                count += 1
                cell.execution_count = count
                for out in cell.outputs:
                    if "execution_count" in out:
                        out.execution_count = count
            else:
                count += 1
                cell.execution_count = count
    return nb


# One thread and the same CPU code paths everywhere: PyTorch's kernels (ATen's AVX2 versions) and
# MKL's matrix products (its AVX2 code path, STRICT: also the same order of operations on a CPU
# with AVX-512). The one place these values are set; the Makefile, the tests, the headless runs
# and the grading kernels take them from here. A value already in the environment wins (to try
# another code path, e.g. ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE).
NUMERIC_PINS = {"OMP_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2,STRICT"}
# Figures go into the notebook (as in JupyterLab): headless runs, and the grading kernels, so that
# an instructor sees a student's plots in the autograded notebook and the feedback.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@contextmanager
def kernel_stderr_to(path):
    """Send what kernels started in the block write to stderr (ipykernel's notice about TCP, say)
    to a log file instead of the terminal: the notebook's own errors are in its outputs."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def execute(path, out=None, parameters=None, cwd=None, timeout=None, kernel_name="python3"):
    """Run a notebook top to bottom from a fresh kernel with papermill; write `out` (default: in place)."""
    import papermill as pm

    path = Path(path)
    out = Path(out) if out else path
    out.parent.mkdir(parents=True, exist_ok=True)
    pins = {k: os.environ.get(k, v) for k, v in NUMERIC_PINS.items()}
    with mock.patch.dict(os.environ, {"MPLBACKEND": INLINE_BACKEND, **pins}), \
            kernel_stderr_to(out.with_suffix(".kernel.log")):
        pm.execute_notebook(
            str(path), str(out), parameters=parameters or {}, cwd=str(cwd or path.parent),
            kernel_name=kernel_name, execution_timeout=timeout, progress_bar=False,
        )
    nb = nbformat.read(out, as_version=4)
    nbformat.write(tidy(nb, drop_injected=not parameters), out)
    return out


def figures(nb_path, dest):
    """Save every PNG a notebook shows as dest/<notebook>-<cell id>-<k>.png; return the paths."""
    nb = nbformat.read(nb_path, as_version=4)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    saved = []
    for cell in nb.cells:
        k = 0
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                k += 1
                target = dest / f"{Path(nb_path).stem}-{cell.get('id', 'cell')}-{k}.png"
                target.write_bytes(base64.b64decode(data["image/png"]))
                saved.append(target)
    return saved
