"""The course's Parts on the instructor's side: student/nbgrader_parts.py as a module of the
package (the Part headings and the stubs' words have one home, the file a student's Jupyter
loads), and the release's stubs that name their Part."""
from __future__ import annotations

import importlib.util

from nbgrader.preprocessors import ClearSolutions
from nbgrader.utils import is_solution
from traitlets import Dict, Unicode

from .course import COURSE_ROOT, nbgrader_meta

_spec = importlib.util.spec_from_file_location("mlpcourse._nbgrader_parts", COURSE_ROOT / "student" / "nbgrader_parts.py")
student = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(student)

PART, parts_of_cells, label, not_answered = student.PART, student.parts_of_cells, student.label, student.not_answered


def _points(value):
    value = float(value)
    return f"{value:g} point" + ("" if value == 1 else "s")


class NamedStubs(ClearSolutions):
    """nbgrader's ClearSolutions (generate_assignment) whose stubs name the answer's Part: the code
    stub raises NotImplementedError("Part B is not answered yet") and the written answer's stub
    says which Part and how many points it is for. It runs before nbgrader computes the
    checksums, so nbgrader still tells an untouched answer from an answered one. A solution cell
    under no Part heading stops the release."""

    code_stub_template = Dict(
        {"python": "# YOUR CODE HERE\nraise NotImplementedError({not_answered!r})"},
        help="ClearSolutions.code_stub per language, with {not_answered} ('Part B is not answered yet')",
    ).tag(config=True)
    text_stub_template = Unicode(
        "YOUR ANSWER HERE ({answer})",
        help="ClearSolutions.text_stub, with {answer} ('Part H, question 2, 2 points')",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        self._parts = parts_of_cells(nb.cells)
        written = {}
        for i, cell in enumerate(nb.cells):
            if is_solution(cell) and cell.cell_type == "markdown" and self._parts[i]:
                written.setdefault(self._parts[i][0], []).append(i)
        self._written = written
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if is_solution(cell):
            part = self._parts[index]
            if part is None:
                raise ValueError(f"answer cell {nbgrader_meta(cell).get('grade_id')!r} is under no Part heading")
            letter = part[0]
            self.code_stub = {lang: stub.format(not_answered=not_answered(letter))
                              for lang, stub in self.code_stub_template.items()}
            answer = f"Part {letter}"
            cells = self._written.get(letter, [])
            if cell.cell_type == "markdown" and len(cells) > 1:
                answer += f", question {cells.index(index) + 1}"
            if nbgrader_meta(cell).get("points") is not None:
                answer += f", {_points(nbgrader_meta(cell)['points'])}"
            self.text_stub = self.text_stub_template.format(answer=answer)
        return super().preprocess_cell(cell, resources, index)
