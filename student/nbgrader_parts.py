"""Validate in Parts: nbgrader's Validate names the Part of each unanswered or failing cell.

A student's Jupyter has nbgrader but not the course's `mlpcourse` package, so this file needs only
the standard library and nbgrader. nbgrader_config.py, beside it, loads it by path and calls
`configure(c)`; `python -m mlpcourse student-setup` copies both. The course's release
(mlpcourse/parts.py) takes the Part headings and the stubs' words from here too, so that what
the release writes into a stub is what Validate recognises.

nbgrader 0.9's Validator runs a fixed list of preprocessors (`Validator.preprocessors` is not
configurable) and prints, for each failed cell, its source and the tracebacks of its error
outputs. Its Execute preprocessor is nbclient's NotebookClient, whose hooks are configurable;
under `c.Validator.Execute` they apply to Validate only, never to autograde. The hooks change
only the error outputs of the executed copy Validate looks at (never a cell's source, whose
checksum Validate checks, and never the notebook file), and every cell that failed still fails:

- an answer cell the student has not touched (nbgrader's own test: its checksum is the
  release's) fails with "Part B · … (2 points): not answered yet", even when it only defines a
  function whose body raises: so the first failure listed is the answer to write, not the
  visible cell that calls it;
- a cell that fails because of an unanswered Part (a stub's NotImplementedError raised from
  another cell, a NameError of a name that Part defines, the Part's own test or a cell under its
  heading) says so in two lines, with the original error in parentheses;
- a cell that fails because an earlier cell failed (a NameError of a name that cell defines, as
  after a DataError offline) names that cell;
- any other failure keeps its traceback, under a line naming its Part, and a long message
  (which Validate cuts at 90 characters a line) follows in full, wrapped.
"""
import os
import re
import textwrap

from nbformat import NotebookNode
from nbgrader.utils import compute_checksum, is_grade, is_solution

# "### Part B (2 points): the training step" (the title and the points are optional)
PART = re.compile(r"^#+[ \t]*Part[ \t]+([A-Z])\b[ \t]*(?:\(([^)\n]*)\))?[ \t]*:?[ \t]*(.*)$", re.MULTILINE)
NOT_ANSWERED = re.compile(r"\bPart ([A-Z]) is not answered yet")
NAME_ERROR = re.compile(r"name '(\w+)' is not defined")
INTERRUPTIONS = ("CellTimeoutError", "KeyboardInterrupt", "DeadKernelError")
WIDTH = 83  # Validate indents by 4 and cuts a line longer than 87 characters


def not_answered(letter):
    """The message of an unanswered answer's stub: 'Part B is not answered yet'."""
    return f"Part {letter} is not answered yet"


def parts_of_cells(cells):
    """For each cell, the Part whose heading is the last one at or above it: a tuple (letter,
    points as written, title without backticks), or None above the first Part."""
    found, part = [], None
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            headings = PART.findall(cell.get("source", ""))
            if headings:
                letter, points, title = headings[-1]
                part = (letter, points.strip(), title.replace("`", "").strip())
        found.append(part)
    return found


def label(part):
    """'Part B · the training step' ('Part K' when the heading has no title)."""
    letter, _points, title = part
    return f"Part {letter}" + (f" · {title}" if title else "")


def unanswered(cell):
    """An answer cell as the release left it (nbgrader's own test, as for written answers)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(is_solution(cell) and meta.get("checksum") and meta["checksum"] == compute_checksum(cell))


def _error(lines, evalue):
    return NotebookNode(output_type="error", ename="NotAnswered", evalue=evalue, traceback=list(lines))


def _first_line(text, width=WIDTH):
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= width else line[:width - 1] + "…"


class ValidateInParts:
    """The state of one Validate run: nbclient calls the hooks below, in order, for one notebook."""

    def __init__(self):
        self.cells, self.parts, self.todo, self.blame, self.done = [], [], set(), {}, 0

    # --- nbclient's hooks -------------------------------------------------------------------

    def notebook_start(self, notebook):
        self.cells = notebook.cells
        self.parts = parts_of_cells(self.cells)
        self.todo = {i for i, c in enumerate(self.cells) if c.cell_type == "code" and unanswered(c)}
        self.blame = {}  # failed cell -> ("part", letter) | ("cell", index of the first cause) | ("root", None)
        self.done = 0

    def cell_start(self, cell_index):
        """Before a cell runs, every cell above it has run: an unanswered answer that raised nothing
        (a def whose body raises) fails now, with its Part's message."""
        for i in range(self.done, min(cell_index, len(self.cells))):
            if i in self.todo and i not in self.blame:
                self._not_answered(i)
        self.done = max(self.done, cell_index)

    def cell_error(self, cell, cell_index):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            return
        ename, evalue = errors[-1].get("ename", ""), str(errors[-1].get("evalue", ""))
        if cell_index in self.todo:
            self._not_answered(cell_index)
            return
        cause = self._cause(cell_index, ename, evalue)
        self.blame[cell_index] = cause or ("root", None)
        if cause:
            self._replace_errors(cell, self._cascade_message(cell_index, cause, ename, evalue), evalue)
        else:
            self._name_root(cell, cell_index, errors, ename, evalue)

    # --- what caused a failure --------------------------------------------------------------

    def _unanswered_part_above(self, index):
        """The letter of the Part of `index` if one of its answer cells above it is unanswered."""
        part = self.parts[index]
        if part is None:
            return None
        return next((part[0] for i in self.todo if i < index and self.parts[i] == part), None)

    def _mentions(self, j, name, index):
        """Whether failed cell j is where `name` would have come from: its source names it, or,
        for an unanswered answer, its Part's text (prose, answers and tests; not cell `index`)."""
        word = re.compile(rf"\b{re.escape(name)}\b")
        if j not in self.todo:
            return bool(word.search(self.cells[j].source))
        return any(word.search(c.source) for k, c in enumerate(self.cells)
                   if k != index and self.parts[k] == self.parts[j]
                   and (c.cell_type == "markdown" or is_solution(c) or is_grade(c)))

    def _cause(self, index, ename, evalue):
        """("part", letter) or ("cell", j) when the failure of cell `index` follows from another;
        None when it is a cause itself."""
        if ename in INTERRUPTIONS:
            return None
        stub = NOT_ANSWERED.search(evalue) if ename == "NotImplementedError" else None
        if stub:
            return ("part", stub.group(1))
        missing = NAME_ERROR.search(evalue) if ename == "NameError" else None
        if missing:
            for j in sorted(self.blame, reverse=True):
                if j < index and self._mentions(j, missing.group(1), index):
                    kind, what = self.blame[j]
                    return (kind, what) if kind != "root" else ("cell", j)
        letter = self._unanswered_part_above(index)
        return ("part", letter) if letter else None

    # --- what Validate prints ---------------------------------------------------------------

    def _part_label(self, letter):
        part = next((p for p in self.parts if p and p[0] == letter), None)
        return label(part) if part else f"Part {letter}"

    def _not_answered(self, i):
        part = self.parts[i]
        name = (label(part) + (f" ({part[1]})" if part[1] else "")) if part else "This answer"
        if len(name) > WIDTH - 20:
            name = name[:WIDTH - 21] + "…"
        lines = [f"{name}: not answered yet.",
                 "Write your answer here, in place of the line that raises NotImplementedError."]
        self._replace_errors(self.cells[i], lines, not_answered(part[0]) if part else "not answered yet")
        self.blame[i] = ("part", part[0]) if part else ("root", None)

    def _cascade_message(self, index, cause, ename, evalue):
        original = f"({_first_line(f'{ename}: {evalue}', WIDTH - 2)})"
        kind, what = cause
        if kind == "cell":
            return ["This cell needs a cell above that failed; fix that one first:",
                    "    " + _first_line(self.cells[what].source, WIDTH - 4), original]
        if is_grade(self.cells[index]) and self.parts[index] and self.parts[index][0] == what:
            first = f"This tests {self._part_label(what)}, which is not answered yet."
        else:
            first = f"Part {what} is not answered yet, and this cell needs it: answer Part {what} first."
        return [_first_line(first), original]

    def _replace_errors(self, cell, lines, evalue):
        kept = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
        cell.outputs = [_error(lines, evalue), *kept]

    def _name_root(self, cell, index, errors, ename, evalue):
        part = self.parts[index]
        if part is not None:
            what = "this test failed" if is_grade(cell) else "this cell failed"
            errors[0].traceback = [f"{label(part)}: {what}.", *errors[0].get("traceback", [])]
        message = f"{ename}: {evalue}"
        if any(len(line) > WIDTH for line in message.splitlines()):
            full = [w for para in message.splitlines() for w in textwrap.wrap(para, WIDTH) or [""]]
            errors[-1].traceback = [*errors[-1].get("traceback", []), "", "The message in full:", *full]


def configure(c):
    """Set the hooks on nbgrader's Execute under Validate (c.Validator.Execute): closures around
    one ValidateInParts (a Config may be deep-copied; functions are copied by reference, bound
    methods would not be). They act only while nbgrader validates, and a mistake of theirs never
    stops Validate: the cell keeps nbgrader's own report."""
    state = ValidateInParts()

    def guarded(step):
        def hook(**kwargs):
            if os.environ.get("NBGRADER_EXECUTION") != "validate":
                return
            try:
                step(**kwargs)
            except Exception as exc:  # noqa: BLE001 (Validate must go on with nbgrader's report)
                from traitlets.log import get_logger

                get_logger().warning("nbgrader_parts: %s: %r", step.__name__, exc)
        return hook

    c.Validator.Execute.on_notebook_start = guarded(lambda notebook, **_: state.notebook_start(notebook))
    c.Validator.Execute.on_cell_start = guarded(lambda cell, cell_index, **_: state.cell_start(cell_index))
    c.Validator.Execute.on_cell_error = guarded(lambda cell, cell_index, **_: state.cell_error(cell, cell_index))
    return state
