"""Autograding with nbgrader (through the class grader, as an instructor grades): the reference
earns every point, the release none, and every catalogued mistake loses exactly the points of the
test cells it names (mlpcourse.check). Every section's catalogue is graded in one scratch course
by one call of the class grader on two workers. Verdicts only: how long a submission takes to
grade is measured by `python -m mlpcourse benchmark` (docs/benchmarks.md), never asserted here."""
from mlpcourse.course import sections
from mlpcourse.check import check_notebooks


def test_every_catalogue_grades_as_expected(tmp_path):
    reports = check_notebooks(sections(), tmp_path, workers=2)
    problems = []
    for name, report in reports.items():
        print(f"{name}: {report.submissions} submissions, {report.seconds / report.submissions:.1f} s each "
              f"on a worker, slowest {report.slowest:.1f} s")
        print("\n".join(report.lines))
        problems += [f"{name}: {p}" for p in report.problems]
    print(f"graded in {next(iter(reports.values())).wall:.1f} s")
    assert not problems, "\n".join(problems)
