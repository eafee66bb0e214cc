"""nbgrader configuration of the makemore MLP course (this folder is the course directory)."""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "makemore-mlp"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The gradebook: SQLite in the course directory by default. For a class graded in parallel,
# point this at PostgreSQL, e.g. "postgresql://grader@localhost:5432/gradebook".
c.CourseDirectory.db_url = os.environ.get(
    "NBGRADER_DB_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db"))
# Files next to the notebooks that students never receive.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# An unanswered cell raises NotImplementedError, as in nbgrader's own examples.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading: knobs are injected (papermill) right before nbgrader executes a notebook. A hidden
# test never relies on a number that only the full-length instructor run produces.
c.Autograde.autograde_preprocessors = [
    "mlpcourse.grading.InjectParameters",
    "nbgrader.preprocessors.Execute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.InjectParameters.parameters = {
    # one line per notebook: the knobs that make it fast to grade (each autogrades in < 15 s)
    "01_dataset": {},
    "02_forward_pass": {},
    "03_training": {},
    "04_learning_rate": {},
    "05_splits": {},
    "06_capacity": {},
    "07_sampling_and_tuning": {},
    "08_initialization": {},
}
c.Execute.timeout = 60  # seconds per cell
c.OverwriteCells.add_missing_cells = True
