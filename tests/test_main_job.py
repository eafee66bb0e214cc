"""The main job (`make all`, i.e. `python -m mlpcourse all`) on a fresh clone: it grades its example
submissions of every section (the reference earns every automatic point, the untouched release
none, one catalogued mistake per section costs some), prints the grade table and no warning a
user cannot act on, and leaves `git status` clean."""
import csv
import subprocess

import nbformat

from mlpcourse.course import graded_cells, source_notebook, written_points
from test_stock_nbgrader import NAMES_SOURCE, Clone, fresh_clone


def test_main_job_grades_the_examples_and_leaves_git_status_clean(tmp_path):
    assert NAMES_SOURCE.is_file(), f"{NAMES_SOURCE} is missing: run `make data` first"
    clone = fresh_clone(tmp_path / "clone")
    t0 = Clone.start()
    root, names = clone.root, clone.names
    sources = {n: nbformat.read(source_notebook(n, root), as_version=4) for n in names}
    expected = {n: sum(graded_cells(nb).values()) for n, nb in sources.items()}
    total = {n: expected[n] + written_points(nb) for n, nb in sources.items()}
    proc = clone.run("-m", "mlpcourse", "all", timeout=1200)
    clone.stage("python -m mlpcourse all (the main job)", t0)
    print(proc.stdout)

    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                            check=True, capture_output=True, text=True).stdout
    assert status == "", f"the main job left the clone dirty (`git status --porcelain`):\n{status}"
    out = proc.stdout
    assert "[6/6] grades" in out and "automatic points" in out, f"the main job printed no grade table:\n{out[-2000:]}"
    for name in names:
        assert f"\n{name} " in out, f"the grade table has no row for {name}:\n{out[-2000:]}"
    noise = [line for line in (out + proc.stderr).splitlines()
             if any(w in line for w in ("Warning:", "SAWarning", "WARNING |", "ERROR |", "Traceback"))]
    assert not noise, "the main job printed warnings a user cannot act on:\n" + "\n".join(noise[:10])

    with open(root / "build" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pairs = sorted((r["student"], r["notebook"]) for r in rows)
    want = sorted((s, n) for s in ("partly_wrong", "reference", "untouched") for n in names)
    assert pairs == want, f"build/grades.csv rows (student, section): {pairs}, expected {want}"
    for r in rows:
        where = f"build/grades.csv {r['student']}/{r['notebook']}"
        assert r["status"] == "ok", f"{where}: status {r['status']!r}, reason {r['reason']!r}"
        points = float(r["auto_max"]) + float(r["written_max"])
        assert abs(points - total[r["notebook"]]) < 1e-9, (
            f"{where}: auto_max + written_max = {points}, the source notebook has {total[r['notebook']]}")
        assert abs(float(r["auto_max"]) - expected[r["notebook"]]) < 1e-9, (
            f"{where}: auto_max {r['auto_max']}, the source notebook has {expected[r['notebook']]} automatic points "
            "(written answers count apart, in written_max)")
        if r["student"] == "reference":
            assert float(r["auto_score"]) == float(r["auto_max"]), f"{where}: the reference earned {r['auto_score']}"
        elif r["student"] == "untouched":
            assert float(r["auto_score"]) == 0.0, f"{where}: the untouched release earned {r['auto_score']}"
        else:
            assert 0.0 < float(r["auto_score"]) < float(r["auto_max"]), (
                f"{where}: one catalogued mistake should cost some points, not all: {r['auto_score']}")
