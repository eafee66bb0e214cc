"""Autograding with nbgrader: the reference earns every point, the release none, and every
catalogued mistake loses exactly the points of the test cells it names (mlpcourse.check)."""
import pytest

from conftest import section_names
from mlpcourse.check import check_notebook

MAX_SECONDS_PER_SUBMISSION = 15


@pytest.mark.parametrize("name", section_names())
def test_catalogue_grades_as_expected(name, tmp_path):
    report = check_notebook(name, tmp_path)
    print(f"{name}: {report.submissions} submissions in {report.seconds:.1f} s")
    print("\n".join(report.lines))
    assert not report.problems, "\n".join(report.problems)
    per_submission = report.seconds / report.submissions
    assert per_submission < MAX_SECONDS_PER_SUBMISSION, (
        f"{name} takes {per_submission:.1f} s per submission to autograde; lower its grading knobs")
