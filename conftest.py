"""Test-suite setup for the whole course directory (tests/ and nbval on source/): shared paths,
and the point totals printed at the end. Run with `--dist loadscope` so that nbval keeps the
cells of one notebook on one xdist worker."""
import os
import sys
from pathlib import Path

# The same numeric code paths as the Makefile (nbval compares stored losses bit for bit); the
# kernels nbval starts inherit them.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
os.environ.setdefault("MKL_CBWR", "AVX2")
# nbgrader runs the `alembic` command of this environment for a PostgreSQL gradebook
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

import nbformat

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "source" / "mlp_language_model"
RELEASE = ROOT / "release" / "mlp_language_model"


def section_names():
    return sorted(p.stem for p in SOURCE.glob("[0-9][0-9]_*.ipynb"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput"):
        return
    sys.path.insert(0, str(ROOT))
    from mlpcourse.submissions import graded_cells, nbgrader_meta

    lines, auto_total, manual_total = [], 0.0, 0.0
    for name in section_names():
        nb = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
        auto = sum(graded_cells(nb).values())
        manual = sum(float(nbgrader_meta(c).get("points", 0)) for c in nb.cells
                     if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution"))
        auto_total += auto
        manual_total += manual
        lines.append(f"  {name:26s} {auto:5.1f} automatic + {manual:4.1f} written")
    terminalreporter.write_sep("-", "points in the assignment")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"  {'total':26s} {auto_total:5.1f} automatic + {manual_total:4.1f} written "
                                f"= {auto_total + manual_total:.1f}")
