"""Nothing a student's code prints runs in a browser (issue 27, item 3).

A submission of 01 earns its points honestly, draws a figure and prints an HTML table, and also
displays every kind of active content we know (a <script>, an onerror handler, <svg onload>, an
iframe, a javascript: link, a JavaScript output, a scripted SVG, image data that breaks out of its
attribute, an image size that adds an attribute) and writes an onerror handler into its written
answer. Stock `nbgrader autograde` and `generate_feedback` (the course's config) grade it; the
autograded notebook, rendered with formgrader's own template as formgrader's submission page does,
and the feedback page are opened in Debian's chromium. Each attack would set `window.pwned` or the
page's title: neither may change, and the figure must still show (a PNG with a natural width).
The same outputs rendered without the course's sanitizer do run there: the probe can see a script.
"""
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_output

from classroom_support import GENEROUS, FULL, _nbs, make_course, nbgrader, png_figure
from mlpcourse.submissions import answered, nbgrader_meta, reference_answers, write_submission

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SECTION = "01_dataset"
SHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"

HOSTILE = r'''
from IPython.display import HTML, SVG, Javascript, display
import matplotlib.pyplot as plt
plt.figure(figsize=(3, 2)); plt.plot([1, 3, 2]); plt.title('my figure'); plt.show()
display(HTML("<table><tr><th>name</th><th>examples</th></tr><tr><td>emma</td><td>5</td></tr></table>"))
display(HTML("<script>window.pwned = 'script'; document.title = 'pwned'</script>"))
display(HTML("<img src=x onerror=\"window.pwned = 'onerror'\">"))
display(HTML("<svg><animate onbegin=\"window.pwned = 'svg animate'\" attributeName=x dur=1s></svg><svg onload=\"window.pwned = 'svg onload'\"></svg>"))
display(HTML("<iframe srcdoc=\"<script>parent.pwned = 'iframe'</script>\"></iframe>"))
display(HTML("<a id=jslink href=\"javascript:window.pwned = 'link'\">a link</a><details open ontoggle=\"window.pwned = 'ontoggle'\"></details>"))
display(Javascript("window.pwned = 'javascript output'"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>window.pwned = "svg script"</script></svg>'))
display({'image/png': 'x" onerror="window.pwned = \'png data\'" a="', 'text/plain': 'not a png'}, raw=True)
display({'image/png': {PNG!r}, 'text/plain': 'a png'}, metadata={'image/png': {'width': '10 onload=window.pwned=1'}}, raw=True)
'''
WRITTEN = "Every name ends with '.'. <img src=x onerror=\"window.pwned = 'written answer'\">"




@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("hostile") / "course")
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(GENEROUS)
    src, rel = _nbs(course)
    answers = reference_answers(src[SECTION])
    answers["why_examples"] = WRITTEN
    nb = answered(rel[SECTION], answers)
    last = max(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("solution") and c.cell_type == "code")
    nb.cells.insert(last + 1, new_code_cell(HOSTILE.replace("{PNG!r}", repr(png_figure(1, 1)))))
    write_submission(course, "mallory", {SECTION: nb})
    nbgrader(course, "autograde", SECTION, "--force")
    nbgrader(course, "generate_feedback", SECTION, "--force")
    return course


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def formgrader_page(notebook_path, out):
    """The notebook as formgrader's submission page renders it (its exporter and template)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": SECTION, "notebook_id": SECTION, "submission_id": "x", "index": 0, "total": 1,
                 "base_url": "", "student": "mallory", "last_name": "", "first_name": "",
                 "notebook_path": "autograded/mallory/01_dataset/01_dataset.ipynb"}
    html, _ = HTMLExporter(config=config).from_filename(str(notebook_path), resources=resources)
    out.write_text(html)
    return out


def _open(browser, page_path, shot=None):
    page = browser.new_page()
    page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_timeout(1500)  # time for an animation's onbegin or a late onerror to fire
    found = page.evaluate("""() => ({
        pwned: window.pwned === undefined ? null : String(window.pwned),
        title: document.title,
        figures: Array.from(document.images).filter(i => i.src.startsWith('data:image/png') && i.naturalWidth > 0).length,
        table: Array.from(document.querySelectorAll('td')).some(td => td.textContent === 'emma'),
        js_links: Array.from(document.querySelectorAll('a[href]')).filter(a => a.href.trim().toLowerCase().startsWith('javascript:')).length,
    })""")
    if page.query_selector("#jslink"):
        page.click("#jslink")
        found["pwned"] = page.evaluate("() => window.pwned === undefined ? null : String(window.pwned)")
    if shot:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / shot), full_page=True)
    page.close()
    return found


def test_hostile_submission_keeps_its_points(graded):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded}/gradebook.db") as gb:
        assert gb.find_submission(SECTION, "mallory").score == FULL[SECTION]


def test_autograded_notebook_keeps_no_active_content(graded):
    nb = nbformat.read(graded / "autograded" / "mallory" / SECTION / f"{SECTION}.ipynb", as_version=4)
    kinds = {k for c in nb.cells if c.cell_type == "code" for o in c.outputs for k in o.get("data", {})}
    assert not kinds & {"application/javascript", "image/svg+xml", "text/latex"}, kinds
    # the elements a browser would make of the HTML outputs and the markdown (escaped text is text)
    from html.parser import HTMLParser

    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    elements = []

    class Elements(HTMLParser):
        def handle_starttag(self, tag, attrs):
            elements.append((tag, dict(attrs)))

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            Elements().feed(markdown2html_mistune(cell.source))
        for out in cell.get("outputs", []):
            Elements().feed(out.get("data", {}).get("text/html", ""))
    assert ("td", {}) in elements, "the student's HTML table should be kept"
    for tag, attrs in elements:
        assert tag not in ("script", "iframe", "svg", "animate", "object", "embed", "style"), f"<{tag}> survived"
        assert not [a for a in attrs if a.startswith("on")], f"<{tag}> kept an event handler: {attrs}"
        assert not any((v or "").strip().lower().startswith("javascript:") for v in attrs.values()), attrs


@pytest.mark.parametrize("view", ["formgrader", "feedback"])
def test_no_script_runs_in_the_instructors_browser(graded, browser, tmp_path, view):
    if view == "formgrader":
        page = formgrader_page(graded / "autograded" / "mallory" / SECTION / f"{SECTION}.ipynb", tmp_path / "fg.html")
    else:
        page = graded / "feedback" / "mallory" / SECTION / f"{SECTION}.html"
    found = _open(browser, page, shot=f"hostile-{view}.png")
    assert found["pwned"] is None, f"a student's script ran in the {view} page: {found['pwned']}"
    assert "pwned" not in found["title"], f"a student's script set the {view} page's title"
    assert found["js_links"] == 0, "a javascript: link survived"
    assert found["figures"] >= 2, f"the student's figures should still show in the {view} page: {found}"
    assert found["table"], f"the student's HTML table should still show in the {view} page"


def test_the_probe_sees_scripts_without_the_sanitizer(graded, browser, tmp_path):
    """The same outputs, not sanitized, rendered by formgrader's template: the scripts run."""
    nb = nbformat.read(graded / "autograded" / "mallory" / SECTION / f"{SECTION}.ipynb", as_version=4)
    nb.cells.append(new_code_cell("", outputs=[new_output("display_data", data={
        "text/html": "<img src=x onerror=\"window.pwned = 'onerror'\">"})]))
    raw = tmp_path / "raw.ipynb"
    nbformat.write(nb, raw)
    found = _open(browser, formgrader_page(raw, tmp_path / "raw.html"))
    assert found["pwned"] == "onerror", f"the probe should see an unsanitized onerror handler run: {found}"
