"""nbgrader configuration for a student's Jupyter: the course, its exchange, and Validate.

The one place that names the course id and the exchange folder; the instructor's
nbgrader_config.py loads this file too. `python -m mlpcourse student-setup DIR` copies it, with
nbgrader_parts.py (Validate in Parts), into a Jupyter config folder (a student's ~/.jupyter, or
/etc/jupyter on a shared JupyterHub) and turns off the instructor's parts of nbgrader's
JupyterLab extension there.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets)

# NBGRADER_COURSE_ID and NBGRADER_EXCHANGE let two copies of the course share one machine.
c.CourseDirectory.course_id = os.environ.get("NBGRADER_COURSE_ID", "makemore-mlp")
# Where releases and submissions pass between instructor and students. The default works for
# everyone on one machine (nbgrader creates it, writable by all); on a shared JupyterHub set
# NBGRADER_EXCHANGE=/srv/nbgrader/exchange (or another shared folder) for every user.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/var/tmp/nbgrader-exchange")
# Never handed in: a names.txt a student put next to the notebook (it belongs in the user's cache,
# ~/.cache/makemore-mlp/names.txt), besides nbgrader's own defaults.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "names.txt"]

# Validate: every section's notebook sets the grader's short runs when nbgrader validates it
# (makemore.shorter_runs_when_validating), so no cell of a working notebook comes near this.
timeout = 60  # seconds per cell
c.Execute.timeout = timeout
c.Execute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": f"this cell ran for more than {timeout} seconds and was stopped",
    # one short line each: Validate cuts longer lines of a message
    "traceback": [f"CellTimeoutError: this cell ran for more than {timeout} seconds and was stopped.",
                  "Validate and the grader run short versions of the lecture's training loops,",
                  "so a cell this slow probably runs a loop that ignores the parameters cell",
                  "(max_steps and the like) or repeats work inside a loop."],
}
# Report an error in any cell (an answer still raising NotImplementedError, a timeout), not
# only in the test cells, so that the message points at the cell to fix.
c.Validator.validate_all = True

# Validate speaks in Parts: it names the Part of each unanswered or failing cell, and a cell that
# fails only because an earlier Part is unanswered (or an earlier cell failed) says which, in two
# lines. nbgrader_parts.py, beside this file, sets nbclient's hooks on Validate's Execute.
_parts = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbgrader_parts.py")
if os.path.isfile(_parts):
    import importlib.util

    _spec = importlib.util.spec_from_file_location("nbgrader_parts", _parts)
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    _module.configure(c)
else:  # the course's other settings still hold; Validate speaks as stock nbgrader does
    import warnings

    warnings.warn(f"{_parts} is missing: copy it from the course with nbgrader_config.py")
