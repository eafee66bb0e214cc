# What a graded notebook may carry into the instructor's browser: figures, text and plain HTML tables.
# Never scripts, event handlers, javascript: links, iframes or SVG; an nbconvert preprocessor, nothing else.
"""Autograded notebooks and feedback pages are opened in the instructor's browser (formgrader, served
by the instructor's Jupyter server) and in students'. Everything in them came out of a student's
kernel, so before they are written they go through `SanitizeOutputs`: nbconvert's `SanitizeHTML`
(bleach) with the course's allow-list, which

- keeps `text/plain`, PNG and JPEG figures, and HTML of plain text and tables (pandas' tables);
- escapes every other tag (`<script>`, `<iframe>`, `<svg onload=…>`, `<img onerror=…>` become text),
  drops every attribute outside the list (`on*`, `style`) and every link that is not http(s) or mailto;
- drops every other output type (`application/javascript`, `image/svg+xml`, `text/latex`, widgets);

and closes what `SanitizeHTML` passes through untouched: image data must be base64 of a real
PNG or JPEG (nbconvert's templates put it inside an attribute), an output's metadata keeps only
numeric `width` and `height` (the templates write them unquoted), a markdown cell's
attachments keep only such images, and markdown that renders to a link or an image is replaced by
its HTML, cleaned (nbconvert's markdown renderer keeps a `javascript:` URL written as markdown).
"""
from __future__ import annotations

import base64
import binascii
import numbers

import mistune
from bleach import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import default

IMAGES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
TEXT_TAGS = ["p", "br", "pre", "div", "span", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "sub", "sup", "del", "tt"]
TABLE_TAGS = ["table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td"]
CELL_ATTRIBUTES = ["colspan", "rowspan", "align", "valign"]


def valid_image(mime, data):
    """data (a base64 string, maybe split in lines) rewritten as one clean base64 string, if it holds
    an image of that type; None otherwise."""
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(raw).decode("ascii") if raw.startswith(IMAGES[mime]) else None


def size_only(metadata):
    """An output's metadata reduced to numeric width and height per image type."""
    kept = {}
    for mime in IMAGES:
        sizes = metadata.get(mime) if isinstance(metadata, dict) else None
        if isinstance(sizes, dict):
            numbers_only = {k: sizes[k] for k in ("width", "height")
                            if isinstance(sizes.get(k), numbers.Real) and not isinstance(sizes.get(k), bool)}
            if numbers_only:
                kept[mime] = numbers_only
    return kept


_PARSE = mistune.create_markdown(renderer=None)  # the syntax tree only (links with entities decoded)
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def needs_cleaning(markdown):
    """Whether markdown holds HTML or a link or image URL with a scheme other than SAFE_SCHEMES."""
    if "<" in markdown:
        return True
    tokens = list(_PARSE(markdown))
    while tokens:
        token = tokens.pop()
        url = str(token.get("attrs", {}).get("url") or "")
        if url and ":" in url and not url.strip().lower().startswith(SAFE_SCHEMES):
            return True
        tokens.extend(token.get("children") or [])
    return False


class SanitizeOutputs(SanitizeHTML):
    """nbconvert's SanitizeHTML with the course's allow-list, image data and metadata checked too."""

    @default("enabled")
    def _enabled_default(self):  # nbconvert's preprocessors are off unless enabled; nbgrader's are on
        return True

    @default("tags")
    def _tags_default(self):
        return sorted(set(ALLOWED_TAGS) | set(TEXT_TAGS) | set(TABLE_TAGS))

    @default("attributes")
    def _attributes_default(self):
        return {**ALLOWED_ATTRIBUTES, "table": ["border"], "th": CELL_ATTRIBUTES, "td": CELL_ATTRIBUTES,
                "*": ["class"]}

    @default("safe_output_keys")
    def _safe_output_keys_default(self):
        return {"text/plain", *IMAGES}

    @default("sanitized_output_types")
    def _sanitized_output_types_default(self):
        return {"text/html", "text/markdown"}

    def sanitize_html_tags(self, html_str):
        # without a '<' there is no element to clean (bleach would only escape '&' and '>', which
        # would break markdown's quotes); this skips most cells, and bleach is slow (html5lib)
        return super().sanitize_html_tags(html_str) if "<" in html_str else html_str

    def sanitize_markdown(self, text):
        """Markdown with HTML in it, or a link or image whose URL is not http(s) or mailto (a
        `javascript:` URL needs no '<', and nbconvert's markdown renderer keeps it), becomes its
        own HTML (nbconvert's renderer), cleaned. Other markdown is kept as it is: rendering every
        lecture cell would cost more than grading some notebooks."""
        return self.sanitize_html_tags(markdown2html_mistune(text)) if needs_cleaning(text) else text

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown":
            cell.source = self.sanitize_markdown(cell.source)
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if "attachments" in cell:
            cell.attachments = {name: {m: d for m, d in ((m, valid_image(m, v)) for m, v in bundle.items()
                                                         if m in IMAGES) if d}
                                for name, bundle in cell.attachments.items() if isinstance(bundle, dict)}
        return cell, resources

    def sanitize_code_outputs(self, outputs):
        for output in outputs:
            if isinstance(output.get("data", {}).get("text/markdown"), str):
                output.data["text/markdown"] = self.sanitize_markdown(output.data["text/markdown"])
        outputs = super().sanitize_code_outputs(outputs)
        for output in outputs:
            if "data" not in output:
                continue
            for mime in IMAGES:
                if mime in output.data:
                    image = valid_image(mime, output.data[mime])
                    if image is None:
                        del output.data[mime]
                    else:
                        output.data[mime] = image
            if "metadata" in output:
                output.metadata = size_only(output.metadata)
        return outputs
