"""nbgrader preprocessors of the course: grading-time knobs through papermill's injection."""
from __future__ import annotations

from nbformat.v4 import new_code_cell
from nbgrader.preprocessors import NbGraderPreprocessor
from papermill.translators import translate_parameters
from traitlets import Dict

PARAMETERS_ID = "parameters"  # grade_id (and papermill tag) of each notebook's locked knobs cell


def find_parameters_cell(nb):
    """Index of the knobs cell: the locked cell with grade_id 'parameters', else the tagged one (Section 01)."""
    for i, cell in enumerate(nb.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == PARAMETERS_ID:
            return i
    for i, cell in enumerate(nb.cells):
        if PARAMETERS_ID in cell.get("metadata", {}).get("tags", []):
            return i
    return -1


def inject_parameters(nb, parameters, comment="Parameters injected for grading"):
    """Insert papermill's injected-parameters cell after the knobs cell and return nb (Section 01).

    Any cell already tagged injected-parameters (a student's copy, say) is dropped first, and the
    knobs cell is found by its nbgrader grade_id, which OverwriteCells has restored, so an
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
    """Before nbgrader executes a notebook, set its knobs to the grading values (Section 01)."""

    parameters = Dict(
        {},
        help="Knobs for each notebook while grading: {notebook name: {name: value}}. "
             "Hidden tests compute their expected values from these same knobs.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        notebook = resources.get("nbgrader", {}).get("notebook")
        values = self.parameters.get(notebook)
        if values:
            nb = inject_parameters(nb, dict(values))
        return nb, resources
