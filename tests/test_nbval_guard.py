"""nbval really compares the stored outputs: a changed loss in a source notebook fails it."""
import os
import shutil
import subprocess
import sys

import nbformat

from mlpcourse.course import COURSE_ROOT as ROOT
from mlpcourse.course import LIBRARY, source_notebook


def test_changed_loss_fails_nbval(tmp_path):
    nb = nbformat.read(source_notebook("02_forward_pass"), as_version=4)
    shutil.copy(source_notebook("02_forward_pass").parent / LIBRARY, tmp_path)
    changed = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("name") == "stdout" and "NLL: 17.7697" in out.get("text", ""):
                out["text"] = out["text"].replace("NLL: 17.7697", "NLL: 17.7698")
                changed += 1
    assert changed, "the stored NLL output was not found"
    nbformat.write(nb, tmp_path / "02_forward_pass.ipynb")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
         "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), "-q",
         str(tmp_path / "02_forward_pass.ipynb")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "MAKEMORE_NAMES": str(ROOT / "data" / "names.txt")})  # no data/ above tmp_path
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "17.7698" in proc.stdout and "failed" in proc.stdout
