"""Autograding with nbgrader (through the class grader, as an instructor grades): the reference
earns every point, the release none, and every catalogued mistake loses exactly the points of the
test cells it names (mlpcourse.check)."""
from conftest import section_names
from mlpcourse.check import check_notebook

MAX_SECONDS_PER_SUBMISSION = 15


def _catalogue_grades_as_expected(name, tmp_path):
    report = check_notebook(name, tmp_path)
    print(f"{name}: {report.submissions} submissions graded in {report.wall:.1f} s, "
          f"{report.seconds / report.submissions:.1f} s each on the worker, slowest {report.slowest:.1f} s")
    print("\n".join(report.lines))
    assert not report.problems, "\n".join(report.problems)
    assert report.slowest < MAX_SECONDS_PER_SUBMISSION, (
        f"a submission of {name} takes {report.slowest:.1f} s to autograde; lower its grading knobs")


# One test class per notebook: with `--dist loadscope` each class is a scope of its own, so the
# notebooks are graded in parallel while nbval keeps each notebook's cells on one worker.
for _name in section_names():
    _cls = type(f"TestSection{_name[:2]}", (), {
        "test_catalogue_grades_as_expected": lambda self, tmp_path, _n=_name: _catalogue_grades_as_expected(_n, tmp_path),
        "__doc__": f"Autograding the catalogue of {_name}."})
    globals()[_cls.__name__] = _cls
