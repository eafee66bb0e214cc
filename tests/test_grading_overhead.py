"""What the class grader saves on a worker without changing a grade or a page: feedback pages whose
templates are compiled once per process (mlpcourse.feedback_html), and scratch gradebooks that
SQLite does not sync to disk (mlpcourse.grade_notebook). Behaviour only: what they save is
measured by `python -m mlpcourse benchmark`."""
import shutil
import sqlite3

import jinja2
import nbformat
from nbconvert.exporters import HTMLExporter

from mlpcourse.course import source_notebook
from mlpcourse.feedback_html import TEMPLATES, FeedbackExporter
from mlpcourse.grade_notebook import grading_base, scratch_gradebooks_unsynced


def test_feedback_exporter_writes_nbconverts_page_and_compiles_each_template_once(monkeypatch):
    nb = nbformat.read(source_notebook("02_forward_pass"), as_version=4)
    stock, _ = HTMLExporter().from_notebook_node(nb)
    compiled = []
    real = jinja2.Environment.compile

    def counting(self, *args, **kwargs):
        compiled.append(args[1] if len(args) > 1 else kwargs.get("name"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    first, _ = FeedbackExporter().from_notebook_node(nb)
    before = len(compiled)
    second, _ = FeedbackExporter().from_notebook_node(nb)  # a new exporter, as nbgrader makes one per call
    assert first == stock and second == stock, "the feedback exporter's page differs from nbconvert's HTMLExporter's"
    assert len(compiled) == before, (
        f"a second exporter in the same process compiled {compiled[before:]} again: the bytecode cache is not used")
    assert TEMPLATES._code, "the process's template cache holds nothing after two pages"


def _synchronous(path):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{path}") as gb:
        return gb.db.connection().exec_driver_sql("PRAGMA synchronous").scalar()


def test_only_scratch_gradebooks_skip_the_disk_sync(tmp_path):
    scratch_gradebooks_unsynced()
    scratch_gradebooks_unsynced()  # installed once, whatever the number of calls
    inside = grading_base() / f"test-overhead-{tmp_path.name}"
    inside.mkdir()
    try:
        assert _synchronous(inside / "gradebook.db") == 0, "a scratch gradebook under grading_base() is still synced"
    finally:
        shutil.rmtree(inside, ignore_errors=True)
    default = sqlite3.connect(":memory:").execute("PRAGMA synchronous").fetchone()[0]
    assert _synchronous(tmp_path / "gradebook.db") == default, (
        "a gradebook outside grading_base() (a class gradebook) lost SQLite's default disk sync")
