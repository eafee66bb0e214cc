"""nbgrader configuration of the makemore MLP course (this folder is the course directory)."""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

# The course id, the exchange folder and Validate's settings: the same file students' Jupyter reads.
load_subconfig(os.path.join("student", "nbgrader_config.py"))  # noqa: F821
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The gradebook: SQLite in the course directory by default. For a class graded in parallel,
# point this at PostgreSQL, e.g. "postgresql://grader@localhost:5432/gradebook".
c.CourseDirectory.db_url = os.environ.get(
    "NBGRADER_DB_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db"))
# Files next to the notebooks that students never receive.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.refused-by-grader",
                            "names.txt"]
# Submissions are data, never paths (mlpcourse.nbgrader_handin): collect and autograde take only regular
# files of the student's own folder; a link, device, FIFO or hard link is refused, never read or copied.
c.ExchangeFactory.collect = "mlpcourse.nbgrader_handin.SafeCollect"
c.Autograde.pre_convert_hook = "mlpcourse.nbgrader_handin.defuse"
c.Autograde.exporter_class = "mlpcourse.nbgrader_handin.SafeNotebookExporter"

# An unanswered cell raises NotImplementedError, as in nbgrader's own examples, and names its Part
# (mlpcourse.parts.NamedStubs in place of nbgrader's ClearSolutions; Validate reads the message).
c.NamedStubs.code_stub_template = {"python": "# YOUR CODE HERE\nraise NotImplementedError({not_answered!r})"}
c.NamedStubs.text_stub_template = "YOUR ANSWER HERE ({answer})"
from nbgrader.converters import GenerateAssignment  # noqa: E402
from nbgrader.preprocessors import ClearSolutions  # noqa: E402

c.GenerateAssignment.preprocessors = ["mlpcourse.parts.NamedStubs" if step is ClearSolutions else step
                                      for step in GenerateAssignment.class_traits()["preprocessors"].default()]

# Grading: parameters are injected (papermill) right before nbgrader executes a notebook. A hidden
# test never relies on a number that only the full-length instructor run produces.
c.Autograde.autograde_preprocessors = [
    "mlpcourse.grading.InjectParameters",
    "mlpcourse.hidden_checks.SplitHiddenChecks",  # a hidden test's GRADER CHECK leaves the kernel's code
    "mlpcourse.grading.SafeExecute",  # nbgrader's Execute; a dead kernel costs only what follows
    "mlpcourse.hidden_checks.RunHiddenChecks",  # ... and runs here, on what the kernel sent
    "nbconvert.preprocessors.CoalesceStreamsPreprocessor",  # (enabled below)
    "mlpcourse.feedback.ShowHandedInOutputs",  # ungraded cells show the student's own outputs, labelled
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "mlpcourse.safe_html.SanitizeOutputs",  # no script of a student's reaches a browser (issue 27)
    "nbgrader.preprocessors.CheckCellMetadata",
]
# The kernel sends what a cell prints every 0.2 s, so one line can arrive in two pieces, which the
# autograded notebook, formgrader and the feedback would show as two lines. nbconvert joins
# consecutive pieces (nbgrader registers nbconvert's own preprocessors switched off).
c.CoalesceStreamsPreprocessor.enabled = True
c.InjectParameters.parameters = {
    # one line per notebook: the parameters that make it fast to grade (each autogrades in < 15 s)
    "01_dataset": {},
    "02_forward_pass": {},
    "03_training": {"overfit_more_steps": 100, "full_steps": 1, "minibatch_steps": 100, "eval_every": 100},
    "04_learning_rate": {"compare_steps": 100, "n_candidates": 100, "max_steps": 600},
    "05_splits": {"max_steps": 300},
    "06_capacity": {"wide_steps": 200, "embd_steps": 200, "dev_evals": 2, "eval_examples": 5000},
    "07_sampling_and_tuning": {"max_steps": 200, "experiment_steps": 50, "train_eval_examples": 5000, "train_best": False},
    "08_initialization": {"max_steps": 100, "hockey_steps": 100, "eval_examples": 5000},
}
# Sanitizing before grading: nbgrader's own steps, with duplicated grade_ids dropped cleanly.
c.Autograde.sanitize_preprocessors = [
    "mlpcourse.feedback.KeepHandedInOutputs",  # the student's outputs of ungraded cells, kept to be shown
    "nbgrader.preprocessors.ClearOutput",
    "mlpcourse.grading.DropDuplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "mlpcourse.grading.RestoreCells",  # nbgrader's OverwriteCells; a deleted test cell goes back in place
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Limits of every grading kernel, for nbgrader autograde and the class grader alike
c.SafeExecute.timeout = 60  # seconds per cell (interrupted, then grading goes on)
c.SafeExecute.notebook_timeout = 600  # seconds per notebook (the cells after it are not run)
# how long a cell's last outputs may take to arrive after its reply (nbclient's 4 s failed the first
# cell, import torch, of kernels started from scratch on a machine with a load of 15 on 2 cores)
c.SafeExecute.iopub_timeout = 30
# Every grading kernel runs under bubblewrap and sees nothing of the course (mlpcourse.sandbox);
# where bwrap cannot run, grading refuses unless given --SandboxedKernelManager.unsandboxed=True.
c.SafeExecute.kernel_manager_class = "mlpcourse.sandbox.SandboxedKernelManager"
c.SandboxedKernelManager.memory_limit_mb = 4096  # address-space cap of each grading kernel
c.SandboxedKernelManager.file_limit_mb = 256  # largest file a kernel may write in its folder (RLIMIT_FSIZE)
c.SandboxedKernelManager.shm_limit_mb = 64  # its /dev/shm: a tmpfs of this size, its own
# all it may write in its folder (work/ and home/): a tmpfs of this size, its own, its notebook's files
# copied in; nothing it writes reaches the real disk, and it may create no other file there (Landlock):
# beside its connection file, only the sockets ipykernel binds before the first cell, then no bind,
# link or socket node at all (the seal, mlpcourse.sealed_kernel).
# A tmpfs is memory beside the address-space cap: each kernel may hold up to this plus shm_limit_mb.
c.SandboxedKernelManager.disk_limit_mb = 512
# without Landlock (Linux before 5.13) that folder could not be capped: grading refuses to start
c.SandboxedKernelManager.landlock_required = True
# output a notebook keeps, whatever the line count (08, the largest, stores 123k characters in one cell
# and 439k in all, figures included); the rest is dropped, and an OutputLimit error says so
c.SafeExecute.max_cell_chars = 1_000_000
c.SafeExecute.max_notebook_chars = 4_000_000
# The grading kernels' client starts the first cell as soon as the kernel answers (mlpcourse.grading).
c.AsyncKernelManager.client_class = "mlpcourse.grading.ReadyClient"
# A submission after the due date (nbgrader db assignment add --duedate, extensions included) is
# marked late in the gradebook, formgrader, build/grades.csv and the feedback; nbgrader's
# LateSubmissionPlugin sets the penalty: "none" (marked only) or "zero" (no points).
c.LateSubmissionPlugin.penalty_method = "none"
# Locked and test cells are restored from the gradebook; deleted ones are put back.
c.OverwriteCells.add_missing_cells = True

# Feedback shows each test's result and message, never the hidden tests' source.
c.GenerateFeedback.preprocessors = [
    "mlpcourse.grading.StripHiddenTests",
    "nbgrader.preprocessors.GetGrades",
    "mlpcourse.safe_html.SanitizeOutputs",  # again: a notebook autograded before the sanitizer existed
    "mlpcourse.feedback.NameParts",  # each graded cell named by its Part; how late the submission was
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# the page speaks in Parts (mlpcourse/feedback.py), its templates compiled once per process (feedback_html.py)
c.GenerateFeedback.exporter_class = "mlpcourse.feedback.FeedbackExporter"
# formgrader's page of a late submission says how late it was (its own pages show it nowhere); the
# feedback says it itself, so its exporter (an HTMLExporter too) leaves this out
c.HTMLExporter.preprocessors = ["mlpcourse.feedback.MarkLate"]
c.FeedbackExporter.preprocessors = []

# Grading a class (python -m mlpcourse grade): its engine, and the files graded with a notebook.
c.GradeClass.workers = 0                # Dask LocalCluster workers; 0: one per core
c.GradeClass.scheduler = ""             # a Dask scheduler address, e.g. "tcp://10.0.0.5:8786"
c.GradeClass.handed_in = {"07_sampling_and_tuning": ["best_model.pt"]}  # files graded with a notebook
