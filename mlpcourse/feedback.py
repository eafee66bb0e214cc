"""What the instructor and the student see of a graded notebook: the outputs of the cells nobody
grades as the student handed them in, each graded cell named by its Part, lateness, and the
feedback page's template (nbgrader's, with Part names, a title and wrapped messages)."""
from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

import nbgrader
from . import feedback_html
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List
from traitlets.config import Config

from .course import nbgrader_meta
from .parts import label, parts_of_cells

HANDED_IN = "mlpcourse_handed_in"  # cell metadata: the outputs a student handed in, between sanitizing and grading
LABEL = "Output as handed in, not re-run: the student's own run (automatic points never depend on it)"
RERUN_LABEL = "No output was handed in for this cell; below, the grader's short run"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TEXT_LIMIT = 20_000  # characters of one handed-in text output


class FeedbackPreprocessor(NbGraderPreprocessor):
    """Base of the course's feedback preprocessors: nbconvert's display_data_priority is declared
    configurable (as nbgrader's GetGrades does), so that HTMLExporter's setting of it raises no
    'Config option display_data_priority not recognized' warning."""

    display_data_priority = List(NbGraderPreprocessor.display_data_priority.default_value).tag(config=True)


def _label(text):
    return NotebookNode(output_type="display_data", metadata={},
                        data={"text/plain": f"[{text}]", "text/html": f'<p class="mlpcourse-label"><em>{text}</em></p>'})


def _text(value):
    text = "".join(value) if isinstance(value, list) else str(value)
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "\n… (cut)"


def _png(value):
    """The base64 text of a PNG image, or None when it is not one."""
    text = "".join(value) if isinstance(value, list) else value
    if not isinstance(text, str) or len(text) > 4_000_000:
        return None
    try:
        raw = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(raw).decode("ascii") if raw.startswith(PNG_MAGIC) else None


def readable_outputs(outputs, limit=50):
    """What of a student's outputs is kept: text, PNG figures and error messages, as plain data
    (nothing that a browser would run or lay out: no HTML, no JavaScript, no widgets)."""
    kept = []
    for out in list(outputs or [])[:limit]:
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if kind == "stream":
            kept.append(NotebookNode(output_type="stream", name="stderr" if out.get("name") == "stderr" else "stdout",
                                     text=_text(out.get("text", ""))))
        elif kind in ("display_data", "execute_result"):
            data = out.get("data") if isinstance(out.get("data"), dict) else {}
            clean = {}
            if "image/png" in data and _png(data["image/png"]):
                clean["image/png"] = _png(data["image/png"])
            if "text/plain" in data:
                clean["text/plain"] = _text(data["text/plain"])
            if clean:
                kept.append(NotebookNode(output_type="display_data", data=clean, metadata={}))
        elif kind == "error":
            kept.append(NotebookNode(output_type="stream", name="stderr",
                                     text=_text(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}\n")))
    return kept


def _ungraded_code(cell):
    return cell.cell_type == "code" and not nbgrader_meta(cell).get("grade_id")


class KeepHandedInOutputs(NbGraderPreprocessor):
    """Sanitizing, before nbgrader's ClearOutput: the outputs of each ungraded code cell (the
    student's figures, logs and timings) go into the cell's metadata, filtered to text and PNG."""

    def preprocess_cell(self, cell, resources, index):
        cell.metadata.pop(HANDED_IN, None)  # only this step writes it
        if _ungraded_code(cell):
            cell.metadata[HANDED_IN] = readable_outputs(cell.get("outputs"))
        return cell, resources


class ShowHandedInOutputs(NbGraderPreprocessor):
    """After execution and the hidden checks: an ungraded cell shows what the student handed in,
    labelled, followed by any error of the grader's run (a dead kernel, a timeout); a cell handed
    in without output keeps the grader's short run, labelled too. Test cells keep the grader's run."""

    def preprocess_cell(self, cell, resources, index):
        handed_in = cell.metadata.pop(HANDED_IN, None)
        if cell.cell_type != "code" or not _ungraded_code(cell) or handed_in is None:
            return cell, resources
        rerun = list(cell.get("outputs", []))
        if handed_in:
            errors = [out for out in rerun if out.get("output_type") == "error"]
            cell.outputs = [_label(LABEL), *readable_outputs(handed_in), *errors]
        elif rerun:
            cell.outputs = [_label(RERUN_LABEL), *rerun]
        return cell, resources


# --- the feedback page ------------------------------------------------------------------------

DEF = re.compile(r"^def\s+(\w+)\s*\(", re.MULTILINE)


def part_names(nb):
    """{grade_id: 'Part B · the training step (train_step)'} for the answer and test cells: the last
    Part heading above the cell (mlpcourse.parts), and for a test cell the functions of the answer
    cells under it."""
    names, functions, last = {}, [], None
    for cell, heading in zip(nb.cells, parts_of_cells(nb.cells)):
        if heading != last:
            functions, last = [], heading
        part = label(heading) if heading else None
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            functions += [f for f in DEF.findall(cell.source) if f not in functions]
        if part and meta.get("grade_id") and (meta.get("grade") or meta.get("solution")):
            test = cell.cell_type == "code" and not meta.get("solution")
            tested = [f for f in functions if not re.search(rf"\b{f}\b", part)] if test else []
            names[meta["grade_id"]] = (part + (f" ({', '.join(tested)})" if tested else ""), part if test else None)
    # several tests in one Part: each also says which test it is
    tests = [p for _, p in names.values() if p]
    return {gid: name + (f" · {gid}" if part and tests.count(part) > 1 else "") for gid, (name, part) in names.items()}


class NameParts(FeedbackPreprocessor):
    """Feedback: each graded cell's Part name in its nbgrader metadata ('part'), and how late the
    submission was (resources['nbgrader']['seconds_late']), for the course's feedback template."""

    def preprocess(self, nb, resources):
        names = part_names(nb)
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if meta.get("grade_id") in names:
                meta["part"] = names[meta["grade_id"]]
        info = resources.setdefault("nbgrader", {})
        info["seconds_late"] = 0
        if info.get("db_url") and info.get("student"):
            from nbgrader.api import Gradebook, MissingEntry

            with Gradebook(info["db_url"]) as gb:
                try:
                    info["seconds_late"] = gb.find_submission(info["assignment"], info["student"]).total_seconds_late
                except MissingEntry:
                    pass
        return nb, resources


class MarkLate(FeedbackPreprocessor):
    """formgrader's page of a submission (its HTMLExporter runs `c.HTMLExporter.preprocessors`): a
    late submission starts with a line saying how late it was. nbgrader 0.9.6 shows lateness
    nowhere in formgrader (its submission lists come from `SubmittedAssignment.to_dict`, which has
    no lateness, and are drawn by its JavaScript); this page is the one a template-free setting
    reaches. The gradebook is only read, and only if it exists."""

    def preprocess(self, nb, resources):
        student, assignment = resources.get("student"), resources.get("assignment_id")
        db_url = self.config.get("CourseDirectory", {}).get("db_url")
        if not (student and assignment and isinstance(db_url, str)):
            return nb, resources
        if db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).is_file():
            return nb, resources
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(db_url) as gb:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                return nb, resources
            seconds, due = submission.total_seconds_late, submission.duedate
        if seconds > 0:
            cell = NotebookNode(cell_type="markdown", metadata={}, id="mlpcourse-late",
                                source=f"**Submitted late: {late_text(seconds)}** after the due date ({due:%Y-%m-%d %H:%M} UTC, "
                                       "extension included).")
            nb.cells.insert(0, cell)
        return nb, resources


TEMPLATES = Path(__file__).parent / "templates"
NBGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
BOOTSTRAP_CSS = NBGRADER_TEMPLATES.parent / "static" / "node_modules" / "bootstrap" / "dist" / "css"


class FeedbackExporter(feedback_html.FeedbackExporter):
    """nbconvert's HTMLExporter with the course's feedback template (templates/parts, which extends
    nbgrader's 'feedback'); `c.GenerateFeedback.exporter_class` selects it, so formgrader's own
    HTMLExporter keeps its template."""

    def __init__(self, config=None, **kwargs):
        # as config of this class, so that it wins over the HTMLExporter settings nbgrader makes
        config = Config(config) if config is not None else Config()
        config.FeedbackExporter.template_name = "parts"
        config.FeedbackExporter.extra_template_basedirs = [str(TEMPLATES), str(NBGRADER_TEMPLATES)]
        # where 'feedback/index.html.j2' (extended) and bootstrap.min.css (included) are found
        config.FeedbackExporter.extra_template_paths = [str(NBGRADER_TEMPLATES), str(BOOTSTRAP_CSS)]
        super().__init__(config=config, **kwargs)


def late_text(seconds):
    """'2 days 14 h 37 min late' for a number of seconds (0 or less: '')."""
    seconds = int(seconds or 0)
    if seconds <= 0:
        return ""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes and not days else []
    return " ".join(parts or ["under a minute"]) + f" late ({seconds:,} s)"
