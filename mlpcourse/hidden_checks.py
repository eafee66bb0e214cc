# Hidden tests whose verdict the student's kernel cannot forge: the probe runs in the kernel, the check in the grader.
# Never runs a line of the student's code or unpickles what the kernel sends: the kernel's results arrive as JSON.
"""A hidden region may end with a check that the grader runs itself:

    ### BEGIN HIDDEN TESTS
    _sizes = (5, 3, 7, 4)                                                   # the inputs, in both
    ### PROBE
    _got = make_params(torch.Generator().manual_seed(1234), *_sizes)        # the probe, in the kernel
    ### GRADER CHECK
    _g = torch.Generator().manual_seed(1234)                                # the check, in the grader
    assert makemore.checks.close(_got[0], torch.randn(_sizes[:2], generator=_g)), "..."
    ### END HIDDEN TESTS

Run as it stands (the instructor's notebook, nbval), the whole region runs in the kernel. While
grading, `SplitHiddenChecks` replaces each check with one line that sends `_got` to the grader
as JSON (tensors as their raw bytes), and `RunHiddenChecks` runs the inputs (if the region has a
PROBE line; they must not call the student's code) and the check in the grader's process, in a
namespace of its own: `_got` decoded, `torch`, `makemore` (the grader's copy of the section's
library), `data_path` (the grader's names.txt) and `_folder` (the graded notebook's folder, with
the files handed in beside it); a check imports anything else it uses, and seeds a generator of
its own rather than the global `random` or `torch` state, which other threads of the grader
share. An answer cell can then forge only what its functions return, never a comparison or an
expected value. A failed check, or a probe that never reported, puts an error output first in
the cell, so nbgrader gives it 0.

Test cells also lose any `execute_result` output: nbgrader reads one as partial credit, and an
answer cell can make the kernel send one.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import inspect
import json
import re
import sys
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from .course import HIDDEN_TESTS, LIBRARY, is_test_cell

MARK = re.compile(r"^[ \t]*### GRADER CHECK[^\n]*\n", re.M)
PROBE = re.compile(r"^[ \t]*### PROBE[^\n]*\n", re.M)  # optional: the test's inputs above it run in both places
MIME = "application/vnd.mlpcourse.probe+json"
MAX_BYTES = 32 * 2 ** 20  # a probe larger than this is refused (a test's results are a few kB)
STASH = "mlpcourse_hidden_checks"  # resources key: {cell index: (original source, [check code])}


# --- the codec: kernel side (shipped as source) and grader side ---------------------------


def _grader_encode(value, depth=0):
    """value as JSON-able data: tensors as dtype, shape and base64 bytes; containers kept apart."""
    import base64
    import math
    import torch
    if depth > 20:
        return {"object": "nested too deeply"}
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return {"int": str(int(value))}
    if isinstance(value, float):
        value = float(value)
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, torch.Tensor):
        t = value.detach().to("cpu").contiguous()
        if t.dtype == torch.bfloat16 or t.is_complex() or t.is_quantized or t.layout != torch.strided:
            return {"object": f"a {t.dtype} tensor"}
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        return {"tensor": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                "requires_grad": bool(value.requires_grad), "data": base64.b64encode(raw).decode()}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).replace("torch.", "")}
    if isinstance(value, (tuple, torch.Size)):
        return {"tuple": [_grader_encode(v, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_grader_encode(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"dict": [[_grader_encode(k, depth + 1), _grader_encode(v, depth + 1)] for k, v in value.items()]}
    return {"object": type(value).__module__ + "." + type(value).__qualname__}


EMIT = (inspect.getsource(_grader_encode)
        + f"__import__('IPython').display.display({{{MIME!r}: {{'value': _grader_encode(_got)}}}}, raw=True)\n"
        + "del _grader_encode\n")


class Unencodable:
    """What the kernel returned where the probe could not send it (a numpy array, a generator...)."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"<{self.what}>"


def decode(data):
    """The value _grader_encode sent, rebuilt in the grader (tensors as fresh CPU tensors)."""
    import torch

    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "int" in data:
        return int(data["int"])
    if "float" in data:
        return float(data["float"])
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    if "dict" in data:
        return {decode(k): decode(v) for k, v in data["dict"]}
    if "dtype" in data:
        return getattr(torch, data["dtype"])
    if "tensor" in data:
        dtype, shape = getattr(torch, data["tensor"]), [int(n) for n in data["shape"]]
        raw = bytearray(base64.b64decode(data["data"]))
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        t = t.reshape(shape).clone()
        return t.requires_grad_() if data.get("requires_grad") and t.is_floating_point() else t
    return Unencodable(str(data.get("object", "something the probe could not send")))


# --- the grader side ------------------------------------------------------------------


def split_check(region_body):
    """(inputs, probe, check) of a hidden region's body: `inputs` (above a '### PROBE' line, if
    any) runs in the kernel and in the grader, `probe` only in the kernel, `check` (below
    '### GRADER CHECK') only in the grader; check is None if the region has no GRADER CHECK."""
    parts = MARK.split(region_body, maxsplit=1)
    if len(parts) != 2:
        return "", region_body, None
    before, check = parts
    pieces = PROBE.split(before, maxsplit=1)
    inputs, probe = pieces if len(pieces) == 2 else ("", before)
    return inputs, probe, check


def _failed(message):
    return NotebookNode(output_type="error", ename="AssertionError", evalue=message,
                        traceback=[f"AssertionError: {message}"])


_LIBRARIES = {}


def grader_library(path):
    """The section's makemore.py as the grader's own module, loaded once per process for each text
    (every scratch course of a worker holds the same file under another path), its build_dataset
    remembering what it built (remember_datasets)."""
    text = Path(path).read_bytes()
    key = hashlib.sha256(text).hexdigest()
    if key not in _LIBRARIES:
        spec = importlib.util.spec_from_file_location(f"_grader_makemore_{key[:16]}", Path(path).resolve())
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        exec(compile(text, str(Path(path).resolve()), "exec"), module.__dict__)
        if callable(getattr(module, "build_dataset", None)):
            module.build_dataset = remember_datasets(module.build_dataset)
        _LIBRARIES[key] = module
    return _LIBRARIES[key]


_BUILT = {}  # the sha256 of a build_dataset's source -> {its arguments: what it built}


def remember_datasets(build_dataset, size=8):
    """build_dataset, built once per (words, block_size, stoi) in this process: the checks of every
    notebook of a section rebuild the same data set from all 32,033 names, and every section's
    library holds the same function (section 01's), so libraries whose build_dataset has the same
    source share what it built. Each call gets tensors of its own (copies); arguments that are not
    a list of str, an int and a dict of str to int are passed through to build_dataset itself."""
    try:
        source = inspect.getsource(build_dataset)
    except (OSError, TypeError):
        source = None
    built = _BUILT.setdefault(hashlib.sha256(source.encode()).hexdigest(), {}) if source else {}

    @functools.wraps(build_dataset)
    def remembered(words, block_size, stoi):
        if not (isinstance(words, (list, tuple)) and all(type(w) is str for w in words) and type(block_size) is int
                and isinstance(stoi, dict) and all(type(k) is str and type(v) is int for k, v in stoi.items())):
            return build_dataset(words, block_size, stoi)
        key = (tuple(words), block_size, tuple(sorted(stoi.items())))
        if key not in built:
            if len(built) >= size:
                built.pop(next(iter(built)))
            built[key] = build_dataset(list(words), block_size, dict(stoi))
        return tuple(t.clone() for t in built[key])
    return remembered


def instructor_sources(resources):
    """{grade_id: source} of the notebook's cells as the gradebook holds them (the instructor's)."""
    from nbgrader.api import Gradebook, MissingEntry

    info = resources.get("nbgrader", {})
    try:
        with Gradebook(info["db_url"]) as gb:
            return {c.name: c.source for c in gb.find_notebook(info["notebook"], info["assignment"]).source_cells}
    except (KeyError, MissingEntry):
        return {}


class SplitHiddenChecks(NbGraderPreprocessor):
    """Before the kernel runs: each hidden region's GRADER CHECK leaves the cell, replaced by the
    line that sends `_got` to the grader; the cell's source is kept to be put back afterwards.
    Only a cell whose source is the gradebook's, to the letter, is split: the grader runs the
    instructor's checks, never one a student wrote into a cell of their own."""

    def preprocess(self, nb, resources):
        stash = resources.setdefault(STASH, {})
        trusted = instructor_sources(resources)
        for index, cell in enumerate(nb.cells):
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if not is_test_cell(cell) or gid not in trusted or trusted[gid] != cell.source:
                continue
            checks = []

            def keep_probe(m):
                inputs, probe, check = split_check(m["body"])
                if check is None:
                    return m[0]
                checks.append(inputs + check)
                return inputs + probe + EMIT
            source = HIDDEN_TESTS.sub(keep_probe, cell.source)
            if checks:
                stash[index] = (cell.source, checks)
                cell.source = source
        return nb, resources


class RunHiddenChecks(NbGraderPreprocessor):
    """After the kernel ran: each stashed check runs in this process on what its probe sent; the
    cell gets its source back, and an error output first if a check failed or never got its data."""

    def preprocess(self, nb, resources):
        stash = resources.pop(STASH, {})
        info = resources.get("nbgrader", {})
        root = Path(self.config.CourseDirectory.get("root") or ".")
        library = root / "source" / str(info.get("assignment", "")) / LIBRARY
        for index, cell in enumerate(nb.cells):
            if not is_test_cell(cell):
                continue
            # nbgrader counts an execute_result as partial credit: a test cell has none of its own
            for out in cell.get("outputs", []):
                if out.get("output_type") == "execute_result":
                    out["output_type"] = "display_data"
                    out.pop("execution_count", None)
            if index in stash:
                cell.source, checks = stash[index]
                folder = Path(resources.get("metadata", {}).get("path") or ".")
                failure = self._verdict(cell, checks, library, folder)
                if failure:
                    cell.outputs.insert(0, _failed(failure))
        return nb, resources

    def _verdict(self, cell, checks, library, folder):
        """'' when every check passes on its probe's data, else the message for the student."""
        probes = [out for out in cell.outputs if out.get("output_type") == "display_data" and MIME in out.get("data", {})]
        cell.outputs = [out for out in cell.outputs if not any(out is p for p in probes)]
        if any(out.get("output_type") == "error" for out in cell.outputs):
            return ""  # nbgrader gives 0 already, and the error says why
        if len(probes) != len(checks):
            return ("the hidden test's results never reached the grader (the cell stopped, or something "
                    f"else sent results: {len(probes)} for {len(checks)} checks); run the cell on its own to see why")
        if not library.is_file():
            return f"the grader has no {library} to check this cell with (ask your instructor)"
        names = Path(library).parents[2] / "data" / "names.txt"
        for probe, check in zip(probes, checks):
            if len(json.dumps(probe["data"][MIME])) > MAX_BYTES:
                return "the hidden test's results are too large to check"
            makemore = grader_library(library)
            namespace = {"_got": decode(probe["data"][MIME]["value"]), "makemore": makemore, "torch": makemore.torch,
                         "data_path": str(names), "_folder": folder}
            printed = []
            namespace["print"] = lambda *args, sep=" ", **_: printed.append(sep.join(map(str, args)))
            try:
                exec(compile(check, "<hidden test>", "exec"), namespace)
            except AssertionError as e:
                return str(e) or "a hidden test failed"
            except Exception as e:  # what the probe sent is not what the check can read
                self.log.info("hidden check of %s: %s", cell.metadata.get("nbgrader", {}).get("grade_id"), e)
                return f"the hidden test could not check what your code returned ({type(e).__name__}: {e})"
            finally:  # what a check prints goes into the cell, as a print in the kernel would
                if printed:
                    cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text="\n".join(printed) + "\n"))
        return ""
