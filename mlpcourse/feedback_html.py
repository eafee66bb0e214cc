# nbconvert's HTML exporter for feedback pages, with Jinja's templates compiled once per process.
# Changes nothing on the page: the same templates, filters and preprocessors as nbconvert's HTMLExporter.
"""The exporter of feedback pages (``GenerateFeedback.exporter_class`` in nbgrader_config.py).

nbgrader builds a new HTMLExporter for every ``generate_feedback`` call, and each one compiles
nbconvert's templates again (about a quarter of a feedback page's time on a grading worker).
Jinja's own answer is a bytecode cache: this exporter gives its environment one in-memory
cache shared by the process, so a worker that makes many pages compiles each template once.
A template whose source changes gets a new entry (Jinja checks the source's checksum).
"""
from __future__ import annotations

from jinja2.bccache import BytecodeCache
from nbconvert.exporters import HTMLExporter


class _MemoryCache(BytecodeCache):
    """Jinja's bytecode, kept in this process."""

    def __init__(self):
        self._code = {}

    def load_bytecode(self, bucket):
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = _MemoryCache()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter whose Jinja environment shares the process's compiled templates."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = TEMPLATES
        return environment
