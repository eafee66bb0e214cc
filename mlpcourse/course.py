"""Where the parts of the course are: its folder, its sections (one nbgrader assignment each, with
one notebook of the same name), and the kinds of nbgrader cells."""
from __future__ import annotations

import re
from pathlib import Path

from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
from nbgrader.utils import is_grade, is_solution

COURSE_ROOT = Path(__file__).resolve().parent.parent
LIBRARY = "makemore.py"  # the module each section folder carries: runtime and earlier sections' code

# The regions nbgrader's delimiters mark in a cell ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS",
# the defaults of ClearSolutions and ClearHiddenTests). Each match covers the delimiter lines and
# the newline after the end one; `body` is what lies between them.
_BEGIN_SOLUTION = re.escape(ClearSolutions.begin_solution_delimeter.default_value)
_END_SOLUTION = re.escape(ClearSolutions.end_solution_delimeter.default_value)
_BEGIN_HIDDEN = re.escape(ClearHiddenTests.begin_test_delimeter.default_value)
_END_HIDDEN = re.escape(ClearHiddenTests.end_test_delimeter.default_value)
HIDDEN_TESTS = re.compile(rf"^(?P<indent>[ \t]*)### {_BEGIN_HIDDEN}[^\n]*\n(?P<body>.*?)^[ \t]*### {_END_HIDDEN}[ \t]*$(?P<newline>\n?)",
                          re.M | re.S)
SOLUTION = re.compile(rf"^[ \t]*### {_BEGIN_SOLUTION}[ \t]*\n(?P<body>.*?)^[ \t]*### {_END_SOLUTION}[ \t]*$\n?", re.M | re.S)
SOLUTION_MARK = re.compile(rf"^[ \t]*### ({_BEGIN_SOLUTION}|{_END_SOLUTION})[ \t]*$\n?", re.M)


def region_bodies(pattern, text):
    """The text inside each region `pattern` (HIDDEN_TESTS or SOLUTION) marks in `text`."""
    return [m["body"] for m in pattern.finditer(text)]


def sections(root=COURSE_ROOT):
    """The section names (= assignment ids = notebook names), in teaching order."""
    return sorted(p.name for p in (Path(root) / "source").glob("[0-9][0-9]_*")
                  if (p / f"{p.name}.ipynb").is_file())


def source_notebook(name, root=COURSE_ROOT):
    """The instructor notebook of a section."""
    return Path(root) / "source" / name / f"{name}.ipynb"


def release_notebook(name, root=COURSE_ROOT):
    """The student notebook of a section, as nbgrader generated it."""
    return Path(root) / "release" / name / f"{name}.ipynb"


def nbgrader_meta(cell):
    """The nbgrader metadata of a cell ({} if none)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell):
    """An automatically graded test cell: graded code that is not an answer."""
    return cell.get("cell_type") == "code" and is_grade(cell) and not is_solution(cell)


def graded_cells(nb):
    """{grade_id: points} of the test cells of a notebook."""
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0)) for c in nb.cells if is_test_cell(c)}


def written_points(nb):
    """Points of the answers graded by hand (graded solution cells)."""
    return sum(float(nbgrader_meta(c).get("points", 0)) for c in nb.cells if is_grade(c) and is_solution(c))


# The course's nbgrader configuration: the instructor's file loads the students' one (course id,
# exchange, Validate), which loads nbgrader_parts.py beside it, so a copy of the course needs all three.
STUDENT_FILES = ("nbgrader_config.py", "nbgrader_parts.py")  # in student/: what a student's Jupyter reads
CONFIG_FILES = ("nbgrader_config.py", *(f"student/{name}" for name in STUDENT_FILES))


def config_files(root=COURSE_ROOT):
    """{relative path: bytes} of the course's nbgrader configuration files."""
    return {name: (Path(root) / name).read_bytes() for name in CONFIG_FILES}


def write_config_files(dest, files):
    """Write {relative path: bytes} (config_files) under dest."""
    for name, content in files.items():
        (Path(dest) / name).parent.mkdir(parents=True, exist_ok=True)
        (Path(dest) / name).write_bytes(content)


def load_config(root=COURSE_ROOT):
    """The course's nbgrader_config.py as a traitlets Config."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def grading_parameters(root=COURSE_ROOT):
    """{notebook: parameters} of the short runs: what nbgrader_config.py gives InjectParameters."""
    return dict(load_config(root).InjectParameters.get("parameters", {}))
