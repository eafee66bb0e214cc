# What the class grader reports: the CSV of grades, the printed table, the reasons beside feedback.
# Never grades and never writes to the gradebook.
"""Reports of a class grading (the dictionary mlpcourse.classroom.grade_class returns)."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

def write_reasons(course_root, results):
    """grading_report.txt for every notebook that failed or came with files that are not part of
    the assignment: in feedback/<student>/<section>/, and in autograded/<student>/<section>/ when it
    exists, from where `nbgrader generate_feedback --force` (which empties the feedback folder)
    copies it back."""
    for r in results:
        folders = [Path(course_root) / "feedback" / r["student"] / r["notebook"]]
        autograded = Path(course_root) / "autograded" / r["student"] / r["notebook"]
        if r["status"] == "ok" and not r.get("extra_files"):
            for folder in folders + [autograded]:
                (folder / "grading_report.txt").unlink(missing_ok=True)  # the report of an earlier grading
            continue
        lines = [f"{r['notebook']}: {r['reason']}"] if r["status"] != "ok" else []
        if r.get("extra_files"):
            lines.append(f"ignored files that are not part of the assignment: {', '.join(r['extra_files'])}")
        for folder in folders + ([autograded] if autograded.is_dir() else []):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "grading_report.txt").write_text("\n".join(lines) + "\n")


def scores_of(report):
    """{(student, notebook): automatic points} of a report."""
    return {(r["student"], r["notebook"]): sum((g["auto_score"] or 0.0) for g in r["grades"].values())
            for r in report["results"]}


def export_csv(report, path):
    """One row per (student, section): automatic points and their maximum, the maximum of the
    written answers (graded by hand later, in formgrader), status and reason, and how late it was
    handed in (seconds after the due date, and nbgrader's late penalty in points)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "notebook", "auto_score", "auto_max", "written_max", "status", "reason",
                    "seconds_late", "late_penalty"])
        for r in report["results"]:
            tests = [g for g in r["grades"].values() if g["kind"] == "test"]
            written = [g for g in r["grades"].values() if g["kind"] != "test"]
            w.writerow([r["student"], r["notebook"], sum(g["auto_score"] or 0.0 for g in tests),
                        sum(g["max_score"] for g in tests), sum(g["max_score"] for g in written),
                        r["status"], r["reason"], round(r.get("seconds_late") or 0.0, 1),
                        r.get("late_penalty") or 0.0])
    return path


def print_report(report, out=sys.stdout):
    results = report["results"]
    students = sorted({r["student"] for r in results})
    notebooks = sorted({r["notebook"] for r in results})
    score = scores_of(report)
    width = max(8, *(len(s) for s in students))
    print(f"{'student':{width}s} " + " ".join(f"{n[:2]:>6s}" for n in notebooks) + "   total", file=out)
    for s in students:
        row = [score.get((s, n), 0.0) for n in notebooks]
        print(f"{s:{width}s} " + " ".join(f"{v:6.1f}" for v in row) + f"  {sum(row):6.1f}", file=out)
    failures = [r for r in results if r["status"] != "ok"]
    extras = sorted({(r["student"], f) for r in results for f in r.get("extra_files", [])})
    print(f"\n{len(results)} notebooks of {len(students)} students graded in {report['seconds']:.1f} s; "
          f"{len(failures)} failures", file=out)
    for r in failures:
        print(f"  {r['student']}/{r['notebook']}: {r['status']}: {r['reason']}", file=out)
    for student, name in extras:
        print(f"  {student}: ignored extra file {name}", file=out)
    for r in results:
        if (r.get("seconds_late") or 0) > 0:
            print(f"  {r['student']}/{r['notebook']}: handed in {r['seconds_late']:,.0f} s after the due date "
                  f"(late penalty {r.get('late_penalty') or 0:g})", file=out)
    if report.get("unsandboxed"):
        print(f"WARNING: graded UNSANDBOXED ({report['unsandboxed']}): the kernels could read and change "
              "anything this user can", file=out)
    if report["changed_files"]:
        print(f"WARNING: course files changed during grading: {report['changed_files']}", file=out)
