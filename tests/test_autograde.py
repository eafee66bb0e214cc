"""Autograding with nbgrader (through the class grader, as an instructor grades): the reference
earns every point, the release none, and every catalogued mistake loses exactly the points of the
test cells it names (mlpcourse.check). Every section's catalogue is graded in one scratch course
by one call of the class grader on two workers."""
from mlpcourse.course import sections
from mlpcourse.check import check_notebooks

MAX_SECONDS_PER_SUBMISSION = 15


def test_every_catalogue_grades_as_expected(tmp_path):
    reports = check_notebooks(sections(), tmp_path, workers=2)
    problems, slow = [], []
    for name, report in reports.items():
        print(f"{name}: {report.submissions} submissions, {report.seconds / report.submissions:.1f} s each "
              f"on a worker, slowest {report.slowest:.1f} s")
        print("\n".join(report.lines))
        problems += [f"{name}: {p}" for p in report.problems]
        # wall time on a worker while the rest of the suite shares the 2 cores: the mean, not the
        # slowest one (a single notebook can wait for the CPU)
        mean = report.seconds / report.submissions
        if mean >= MAX_SECONDS_PER_SUBMISSION:
            slow.append(f"a submission of {name} takes {mean:.1f} s to autograde on average; lower its grading parameters")
    print(f"graded in {next(iter(reports.values())).wall:.1f} s")
    assert not problems, "\n".join(problems)
    assert not slow, "\n".join(slow)
