"""What nbval checks in `make test` (short copies, mlpcourse.testcopies) and `make test-lectures`
(full-length copies): the lecture's published numbers are compared bit for bit in the short run,
which changes nothing of a notebook but its parameters and which outputs it compares."""
import nbformat
import pytest

from mlpcourse.course import grading_parameters, sections, source_notebook
from mlpcourse.testcopies import LENGTH_DEPENDENT_TAGS, write_copies

# The numbers of the lecture and the seeds (tensor shapes, parameter counts, seeded losses, the
# splits), as the notebooks print them: each must be in an output that the short run compares.
PUBLISHED = {
    "01_dataset": ["228146"],
    "02_forward_pass": ["3481", "17.7697"],
    "03_training": ["13.6564", "11.2988"],
    "05_splits": ["182625", "22655", "22866"],
    "08_initialization": ["11897", "27.8817", "3.3221", "3.3135"],
}


def _printed(cell):
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


@pytest.fixture(scope="module")
def short_copies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nbval-short")
    write_copies(folder)
    return folder


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_numbers_are_compared_in_the_short_run(short_copies, name):
    nb = nbformat.read(short_copies / name / f"{name}.ipynb", as_version=4)
    compared = [c for c in nb.cells if c.cell_type == "code"
                and not {"nbval-ignore-output", "nbval-skip"} & set(c.metadata.get("tags", []))]
    missing = [n for n in PUBLISHED[name] if not any(n in _printed(c) for c in compared)]
    assert not missing, (f"{name}: {missing} is printed by no cell whose output `make test` compares "
                         f"(a cell tagged {LENGTH_DEPENDENT_TAGS} is compared only at full length)")


@pytest.mark.parametrize("name", sections())
def test_short_copy_changes_only_parameters_and_compared_outputs(short_copies, tmp_path, name):
    source = nbformat.read(source_notebook(name), as_version=4)
    short = nbformat.read(short_copies / name / f"{name}.ipynb", as_version=4)
    injected = [c for c in short.cells if "injected-parameters" in c.metadata.get("tags", [])]
    parameters = grading_parameters().get(name) or {}
    assert len(injected) == (1 if parameters else 0), f"{name}: {len(injected)} injected-parameters cells"
    for key, value in parameters.items():
        assert f"{key} = {value!r}" in injected[0].source, f"{name}: parameter {key} not injected: {injected[0].source}"
    rest = [c for c in short.cells if c not in injected]
    assert [(c.id, c.source, c.get("outputs")) for c in rest] == \
           [(c.id, c.source, c.get("outputs")) for c in source.cells], f"{name}: the short copy changed a cell"
    ignored = {c.id for c in rest if "nbval-ignore-output" in c.metadata.get("tags", [])}
    tagged = {c.id for c in source.cells if set(LENGTH_DEPENDENT_TAGS) & set(c.metadata.get("tags", []))}
    assert ignored == tagged, f"{name}: outputs not compared {sorted(ignored)}, length-dependent cells {sorted(tagged)}"

    full = write_copies(tmp_path, full=True, names=[name])[0] / f"{name}.ipynb"
    assert full.read_bytes() == source_notebook(name).read_bytes(), f"{name}: the full-length copy is not the source"
