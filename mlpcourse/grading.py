"""nbgrader preprocessors of the course: parameters injected with papermill, executing a submission so
that nothing is lost, sanitizing duplicated ids, restoring deleted test cells in place, and
feedback without hidden tests."""
from __future__ import annotations

import json
import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode, from_dict
from nbformat.v4 import new_code_cell
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, DeduplicateIds, Execute, NbGraderPreprocessor, OverwriteCells
from papermill.translators import translate_parameters
from traitlets import Bool, Dict, Integer, List, Unicode

from .course import HIDDEN_TESTS, is_test_cell, nbgrader_meta
from .hidden_checks import MIME as PROBE_MIME


PARAMETERS_ID = "parameters"  # grade_id (and papermill tag) of each notebook's locked parameters cell


def find_parameters_cell(nb):
    """Index of the parameters cell: the locked cell with grade_id 'parameters', else the tagged one."""
    for i, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == PARAMETERS_ID:
            return i
    for i, cell in enumerate(nb.cells):
        if PARAMETERS_ID in cell.get("metadata", {}).get("tags", []):
            return i
    return -1


def inject_parameters(nb, parameters, comment="Parameters injected for grading"):
    """Insert papermill's injected-parameters cell after the parameters cell and return nb.

    Any cell already tagged injected-parameters (a student's copy, say) is dropped first, and the
    parameters cell is found by its nbgrader grade_id, which OverwriteCells has restored, so an
    edited tag cannot move the injection above the defaults.
    """
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    index = find_parameters_cell(nb)
    if index < 0:
        raise ValueError("the notebook has no parameters cell to inject after")
    source = translate_parameters("python3", "python", parameters, comment)
    cell = new_code_cell(source=source, metadata={"tags": ["injected-parameters"]})
    cell.pop("id", None)
    nb.cells.insert(index + 1, cell)
    return nb


class InjectParameters(NbGraderPreprocessor):
    """Before nbgrader executes a notebook, set its parameters to the grading values."""

    parameters = Dict(
        {},
        help="Parameters of each notebook while grading: {notebook name: {name: value}}. "
             "Hidden tests compute their expected values from these same parameters.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        notebook = resources.get("nbgrader", {}).get("notebook")
        values = self.parameters.get(notebook)
        if values:
            nb = inject_parameters(nb, dict(values))
        return nb, resources


# --- executing a submission: nothing lost, helpers restored --------------------------------


KERNEL_DIED = "KernelDied"
NOTEBOOK_TIMEOUT = "NotebookTimeout"
NOT_RUN = "NotRun"
OUTPUT_LIMIT = "OutputLimit"
# before each test cell: put back what an answer replaced (the section's makemore.py, imported by
# the locked first cell, captured the originals before any answer ran)
_RESTORE = ("import sys as _grader_sys\n"
            "_grader_sys.modules['makemore']._restore() if 'makemore' in _grader_sys.modules else None\n"
            "del _grader_sys")


def error_output(ename, evalue):
    """An error output a student can read in the feedback."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ReadyClient(AsyncKernelClient):
    """jupyter_client's kernel client, minus the 0.2 s it waits for IOPub to fall silent once the
    kernel is ready (the rest of its wait_for_ready, kept: kernel_info reply, IOPub connected).
    nbclient files each output under the request it answers, so a late status message is ignored."""

    async def _async_wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # IOPub is connected once it carries the kernel's status for that request
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    # AsyncKernelClient binds wait_for_ready to KernelClient's function when the class is made, so
    # overriding the private method alone changes nothing (tests/test_grading.py checks both)
    wait_for_ready = _async_wait_for_ready


class SafeExecute(Execute):
    """nbgrader's Execute, except that a dead kernel costs only the cells from there on, and the
    comparison helpers an answer cell may have replaced are restored before every test cell."""

    restore_helpers = Bool(True, help="Run makemore.checks.restore() before each test cell.").tag(config=True)
    notebook_timeout = Integer(0, help="Seconds for the whole notebook; cells after that are not run "
                                       "(0: no limit).").tag(config=True)
    timing_file = Unicode("", help="Where to write how long the kernel took to start and the cells to run "
                                   "(JSON; the class grader's benchmark reads it). Empty: nowhere.").tag(config=True)
    max_cell_chars = Integer(0, help="Characters of output one cell may keep (text, HTML, images' base64, "
                                     "tracebacks; whatever the line count); the rest is dropped. 0: no limit."
                             ).tag(config=True)
    max_notebook_chars = Integer(0, help="Characters of output the whole notebook may keep; outputs after "
                                         "that are dropped. 0: no limit.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._died_in = None
        self._started = time.monotonic()
        self._deadline = self._started + self.notebook_timeout if self.notebook_timeout else None
        self._timing = {"kernel_start": None, "cells": 0.0}
        self._chars = self._cell_chars = 0
        self._cut = None  # the output limit hit in the running cell
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            if self.timing_file:
                with open(self.timing_file, "w") as f:
                    json.dump(self._timing, f)

    def _silent(self, code):
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        return self.wait_for_reply(msg_id)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._died_in is not None:
            cell.outputs = [error_output(NOT_RUN, f"not run: the kernel stopped in cell {self._died_in + 1}")]
            return cell, resources
        if self._deadline is not None and time.monotonic() > self._deadline:
            cell.outputs = [error_output(NOTEBOOK_TIMEOUT, f"not run: the notebook's time limit "
                                                           f"({self.notebook_timeout} s) was reached")]
            return cell, resources
        if self._timing["kernel_start"] is None:
            self._timing["kernel_start"] = time.monotonic() - self._started
        begin = time.monotonic()
        self._cell_chars, self._cut, self._in_test = 0, None, is_test_cell(cell)
        try:
            if self.restore_helpers and is_test_cell(cell):
                self._silent(_RESTORE)
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._died_in = index
            cell.outputs.append(error_output(
                KERNEL_DIED, "the kernel died while running this cell (os._exit, exit(), a crash, or the "
                             "memory limit); the cells after it were not run"))
            return cell, resources
        finally:
            self._timing["cells"] += time.monotonic() - begin
            self._limit_outputs(cell)

    # --- the output limits: counted as outputs arrive, so a flood is never kept whole ---

    def _size(self, out):
        """Characters an output counts for; a hidden test's probe report in a test cell counts none."""
        data = out.get("data", {})
        if self._in_test and PROBE_MIME in data:
            return 0
        return (len(out.get("text", "")) + sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())
                + sum(len(line) for line in out.get("traceback", [])))

    def _room(self):
        """(characters the running cell may still keep, the limit that says so)."""
        limits = [(self.max_cell_chars - self._cell_chars, f"this cell's output went over {self.max_cell_chars:,} "
                                                          "characters")] if self.max_cell_chars else []
        if self.max_notebook_chars:
            limits.append((self.max_notebook_chars - self._chars,
                           f"the notebook's output went over {self.max_notebook_chars:,} characters"))
        return min(limits) if limits else (float("inf"), None)

    def _keep(self, out):
        """`out` as far as the limits let it be kept (a stream's text is cut to the room left), or None."""
        size = self._size(out)
        room, why = self._room()
        if size > room:
            self._cut = self._cut or why
            if out.get("output_type") != "stream" or room <= 0:
                return None
            out["text"] = out["text"][:room]
            size = room
        self._cell_chars += size
        self._chars += size
        return out

    def output(self, outs, msg, display_id, cell_index):
        if self._cut:
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None and self._keep(out) is None:
            outs.remove(out)
            return None
        return out

    def _limit_outputs(self, cell):
        """After the cell: outputs that grew later (display updates, streams merged) are measured
        again; what is over a limit goes, and an error output says so."""
        if cell.cell_type != "code":
            return
        self._chars -= self._cell_chars  # what the cell's outputs counted as they arrived
        self._cell_chars = 0
        kept = [out for out in cell.outputs if self._keep(out) is not None]
        if self._cut:
            kept.append(error_output(OUTPUT_LIMIT, f"{self._cut}; the rest of it was dropped. Print less: a "
                                                   "summary, a shape or the first few values instead of a whole "
                                                   "tensor or a long loop's every line"))
        cell.outputs = kept


# --- feedback: results and messages, never the hidden tests ---------------------------------


class StripHiddenTests(NbGraderPreprocessor):
    """For feedback: drop hidden tests from test cells and reduce their errors to the message."""

    # not nbgrader's ClearHiddenTests: it deletes a hidden region without a trace, and the feedback
    # should tell a student where hidden tests ran (the regex is nbgrader's delimiters, course.HIDDEN_TESTS)

    # configurable, as in nbgrader's GetGrades: HTMLExporter sets it for every nbconvert class, and
    # traitlets warns "Config option display_data_priority not recognized" for a trait that is not
    display_data_priority = List(NbGraderPreprocessor.display_data_priority.default_value).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if is_test_cell(cell):
            cell.source = HIDDEN_TESTS.sub(lambda m: f"{m['indent']}# (hidden tests ran here){m['newline']}", cell.source)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources


# --- sanitizing: duplicated grade_ids ------------------------------------------------------


class DropDuplicateIds(DeduplicateIds):
    """nbgrader's DeduplicateIds (the last copy of a grade_id keeps it), but the other copies lose
    their nbgrader metadata entirely: an empty dict crashes OverwriteCells.add_missing_cells."""

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if "nbgrader" in cell.metadata and not cell.metadata.nbgrader:
            del cell.metadata["nbgrader"]
        return cell, resources


# --- sanitizing: deleted test cells ------------------------------------------------------


class RestoreCells(OverwriteCells):
    """nbgrader's OverwriteCells, with deleted grade cells put back where the instructor's notebook
    has them. nbgrader 0.9.6 puts a deleted cell right after the cell that precedes it in the
    source, and only if that one is a grade or solution cell: after a locked cell it raises
    KeyError and the whole notebook scores 0; after an answer cell it lands before the student's
    cells that call the answer (the visible call a test reads). Here it goes right before the
    next cell of the instructor's notebook that the submission still has (any cell with a
    grade_id), or at the end if there is none."""

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_ids = [cell.name for cell in source_nb.source_cells]
        source_cells = {cell.name: cell for cell in source_nb.source_cells}
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        for grade_cell in sorted(source_nb.grade_cells, key=lambda c: source_ids.index(c.name)):
            present = {nbgrader_meta(c)["grade_id"]: i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id")}
            if grade_cell.name in present:
                continue
            self.log.warning(f"Missing grade cell {grade_cell.name} encountered, adding to notebook")
            later = [present[name] for name in source_ids[source_ids.index(grade_cell.name) + 1:] if name in present]
            cell = self.missing_cell_transform(source_cells[grade_cell.name], grade_cell.max_score,
                                               is_solution=grade_cell.name in solution_ids)
            nb.cells.insert(min(later) if later else len(nb.cells), from_dict(cell))
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        """A locked cell as released (its hidden tests cleared) gets the gradebook's source before
        nbgrader compares checksums: the gradebook's checksum is taken with the hidden tests in
        (nbgrader #1961), so every untouched test cell would be reported as changed. A cell that
        differs in any other way is still reported and restored by OverwriteCells."""
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id and nbgrader_meta(cell).get("locked"):
            try:
                source_cell = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source_cell = None
            if source_cell is not None and source_cell.cell_type == cell.cell_type:
                released = from_dict({"cell_type": source_cell.cell_type, "source": source_cell.source, "metadata": {}})
                ClearHiddenTests()._remove_hidden_test_region(released)
                if cell.source == released.source:
                    cell.source = source_cell.source
        return super().preprocess_cell(cell, resources, cell_index)
