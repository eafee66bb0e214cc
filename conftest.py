"""Test-suite setup for the whole course directory (tests/ and nbval on copies of the section
folders in build/nbval/): the numeric pins, and the point totals printed at the end. Run with
`--dist loadscope` so that nbval keeps the cells of one notebook on one xdist worker."""
import os
import sys

from mlpcourse.notebooks import NUMERIC_PINS

# The same numeric code paths as the Makefile (nbval compares stored losses bit for bit); the
# kernels nbval starts inherit them.
for _key, _value in NUMERIC_PINS.items():
    os.environ.setdefault(_key, _value)
# nbgrader runs the `alembic` command of this environment for a PostgreSQL gradebook
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

import nbformat  # noqa: E402

from mlpcourse.course import graded_cells, sections, source_notebook, written_points  # noqa: E402


def pytest_configure(config):
    """nbval compares tagged cells of long runs within a stated tolerance (tests/nbval_tolerance.py)."""
    from tests.nbval_tolerance import install

    install()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput"):
        return
    lines, auto_total, manual_total = [], 0.0, 0.0
    for name in sections():
        nb = nbformat.read(source_notebook(name), as_version=4)
        auto, manual = sum(graded_cells(nb).values()), written_points(nb)
        auto_total += auto
        manual_total += manual
        lines.append(f"  {name:26s} {auto:5.1f} automatic + {manual:4.1f} written")
    terminalreporter.write_sep("-", "points in the course")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"  {'total':26s} {auto_total:5.1f} automatic + {manual_total:4.1f} written "
                                f"= {auto_total + manual_total:.1f}")
