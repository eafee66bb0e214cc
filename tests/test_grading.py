"""Parameter injection before nbgrader executes a notebook (mlpcourse.grading)."""
from nbformat.v4 import new_code_cell, new_notebook

from mlpcourse.grading import InjectParameters, inject_parameters


def _nb(tag=True):
    params = new_code_cell("max_steps = 200000", metadata={
        "nbgrader": {"grade_id": "parameters", "locked": True, "solution": False, "grade": False,
                     "schema_version": 3, "task": False}})
    if tag:
        params.metadata["tags"] = ["parameters"]
    return new_notebook(cells=[new_code_cell("import torch"), params, new_code_cell("print(max_steps)")],
                        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}})


def test_injected_after_the_parameters_cell():
    nb = inject_parameters(_nb(), {"max_steps": 100})
    assert "injected-parameters" in nb.cells[2].metadata["tags"]
    assert "max_steps = 100" in nb.cells[2].source


def test_found_by_grade_id_when_the_tag_was_removed():
    nb = inject_parameters(_nb(tag=False), {"max_steps": 100})
    assert nb.cells[1].metadata["nbgrader"]["grade_id"] == "parameters"
    assert "max_steps = 100" in nb.cells[2].source


def test_a_students_injected_cell_is_dropped():
    nb = _nb()
    nb.cells.insert(0, new_code_cell("max_steps = 0", metadata={"tags": ["injected-parameters"]}))
    nb = inject_parameters(nb, {"max_steps": 100})
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "max_steps = 100" in injected[0].source


def test_preprocessor_uses_the_notebooks_own_parameters():
    pp = InjectParameters(parameters={"03_training": {"max_steps": 100}})
    nb, _ = pp.preprocess(_nb(), {"nbgrader": {"notebook": "03_training"}})
    assert len(nb.cells) == 4
    nb, _ = pp.preprocess(_nb(), {"nbgrader": {"notebook": "01_dataset"}})
    assert len(nb.cells) == 3
