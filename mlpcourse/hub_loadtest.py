"""A bounded load test of the course's JupyterHub on this machine (127.0.0.1 only, run as root).

    python -m mlpcourse hub loadtest [--students 10] [--section 01_dataset] [--out build/hub-loadtest.json]

A class of --students fresh accounts and an instructor (removed afterwards) on a hub of its own:
the hub's start time; each student logs in over HTTP (the login form, then the hub's OAuth into
their server) and their JupyterLab server starts (login to a server answering); the memory of each
idle server (PSS and RSS of all the student's processes); then every student fetches the section,
answers it, and all press Validate at once (nbgrader's Validate endpoint of their own server), with
the class's memory sampled while they run. How many servers this machine holds is extrapolated from
the measured peak per student, and said to be so.
"""
from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from . import hub
from .course import COURSE_ROOT, source_notebook
from .hub_python import USERS_PYTHON
from .hub_roster import add_class, remove_class
from .submissions import answered, reference_answers


def _pss_rss_kib(uid):
    """(PSS, RSS) in KiB summed over the processes running as uid."""
    pss = rss = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if next(int(l.split()[1]) for l in status.read_text().splitlines() if l.startswith("Uid:")) != uid:
                continue
            rollup = (status.parent / "smaps_rollup").read_text()
        except (OSError, StopIteration):
            continue
        pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))
        rss += int(re.search(r"^Rss:\s+(\d+)", rollup, re.M).group(1))
    return pss, rss


def _mem_total_kib():
    return int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))


def _as(user, args, cwd, env):
    entry = pwd.getpwnam(user)
    base = {"HOME": entry.pw_dir, "USER": user, "LOGNAME": user, **env}
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in base.items()], *args],
                          cwd=cwd, capture_output=True, text=True, check=True)


def _login(url, user, password, timeout=300):
    """A requests session logged into the hub, with the user's server started and answering;
    returns (session, seconds from the login form's POST to the server's JupyterLab page)."""
    import requests

    s = requests.Session()
    form = s.get(f"{url}/hub/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
    t0 = time.monotonic()
    r = s.post(f"{url}/hub/login", data={"_xsrf": xsrf, "username": user, "password": password})
    assert r.ok, f"{user}: login answered {r.status_code}"
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        r = s.get(f"{url}/user/{user}/lab")
        if r.ok and r.url.rstrip("/").endswith(f"/user/{user}/lab") and "jupyter-config-data" in r.text:
            return s, time.monotonic() - t0
        time.sleep(0.5)
    raise AssertionError(f"{user}'s server did not answer within {timeout} s")


def run(students=10, section="01_dataset", out=COURSE_ROOT / "build" / "hub-loadtest.json"):
    assert 1 <= students <= 20, "a bounded test on a shared machine: 1 to 20 students"
    work = Path(tempfile.mkdtemp(prefix="mlpcourse-hubload-"))
    work.chmod(0o755)
    tag = secrets.token_hex(2)
    users = [f"ml{tag}s{i:02d}" for i in range(students)]
    instructor = f"ml{tag}i"
    roster = work / "users.csv"
    roster.write_text("username,first_name,last_name,role\n" + f"{instructor},Load,Instructor,instructor\n"
                      + "".join(f"{u},Student,{i:02d},student\n" for i, u in enumerate(users)))
    passwords = {u: secrets.token_urlsafe(12) for u in users}
    result = {"students": students, "section": section, "mem_total_gib": round(_mem_total_kib() / 2**20, 1)}
    proc = None
    try:
        course = add_class(roster, [section])
        subprocess.run(["chpasswd"], input="".join(f"{u}:{p}\n" for u, p in passwords.items()), text=True, check=True)
        port, exchange = hub.free_port(), work / "exchange"
        t0 = time.monotonic()
        proc = hub.start(port, work / "state", exchange=exchange, log=(work / "hub.log").open("w"))
        hub.wait_until_up(proc, port)
        result["hub_start_s"] = round(time.monotonic() - t0, 1)
        url = f"http://127.0.0.1:{port}"
        env = {"PATH": f"{work / 'state' / USERS_PYTHON / 'bin'}:/usr/bin:/bin", "NBGRADER_EXCHANGE": str(exchange),
               "MAKEMORE_NAMES": str(COURSE_ROOT / "data" / "names.txt"),
               "JUPYTER_CONFIG_PATH": str(work / "state" / hub.STUDENT_JUPYTER)}  # the course id, as the hub gives it
        _as(instructor, ["python", "-m", "nbgrader", "db", "assignment", "add", section], course, env)
        _as(instructor, ["python", "-m", "nbgrader", "release_assignment", section], course, env)

        sessions, logins = {}, []
        for u in users:
            sessions[u], seconds = _login(url, u, passwords[u])
            logins.append(round(seconds, 1))
        result["login_to_lab_s"] = logins
        time.sleep(10)  # idle
        idle = [_pss_rss_kib(pwd.getpwnam(u).pw_uid) for u in users]
        result["idle_server_pss_mib"] = [round(p / 1024) for p, _ in idle]
        result["idle_server_rss_mib"] = [round(r / 1024) for _, r in idle]

        answers = reference_answers(nbformat.read(source_notebook(section, course), as_version=4))
        for u in users:
            _as(u, ["python", "-m", "nbgrader", "fetch_assignment", section], pwd.getpwnam(u).pw_dir, env)
            nb_path = Path(pwd.getpwnam(u).pw_dir) / section / f"{section}.ipynb"
            st = nb_path.stat()
            nbformat.write(answered(nbformat.read(nb_path, as_version=4), answers), nb_path)
            os.chown(nb_path, st.st_uid, st.st_gid)

        verdicts, peak = {}, {"class_pss_kib": 0}
        done = threading.Event()

        def validate(u):
            s = sessions[u]
            xsrf = s.cookies.get("_xsrf", path=f"/user/{u}/") or s.cookies.get("_xsrf")
            t = time.monotonic()
            r = s.post(f"{url}/user/{u}/assignments/validate", data={"path": f"{section}/{section}.ipynb"},
                       headers={"X-XSRFToken": xsrf}, timeout=900)
            value = r.json().get("value") if r.ok and r.json().get("success") else {"failed": r.text[:300]}
            value = json.loads(value) if isinstance(value, str) else value
            verdicts[u] = {"seconds": round(time.monotonic() - t, 1), "http": r.status_code,
                           "passed": not any(value.get(k) for k in ("failed", "changed", "type_changed", "passed"))}

        def sample():
            uids = [pwd.getpwnam(u).pw_uid for u in users]
            while not done.is_set():
                total = sum(_pss_rss_kib(uid)[0] for uid in uids)
                peak["class_pss_kib"] = max(peak["class_pss_kib"], total)
                time.sleep(0.5)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.monotonic()
        threads = [threading.Thread(target=validate, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        sampler.join()
        result["validate_all_at_once_s"] = round(time.monotonic() - t0, 1)
        result["validate_s"] = [verdicts[u]["seconds"] for u in users]
        result["validate_passed"] = sum(v["passed"] for v in verdicts.values())
        per_student = peak["class_pss_kib"] / students
        result["peak_class_pss_mib"] = round(peak["class_pss_kib"] / 1024)
        result["peak_pss_per_student_mib"] = round(per_student / 1024)
        # extrapolated, not measured: servers that fit in 80 % of this machine's memory, all validating at once
        result["extrapolated_servers_validating_at_once"] = int(0.8 * _mem_total_kib() / per_student)
        result["extrapolated_idle_servers"] = int(0.8 * _mem_total_kib() / (sum(p for p, _ in idle) / students))
    finally:
        if proc is not None:
            hub.stop(proc)
        remove_class(roster)
        shutil.rmtree(work, ignore_errors=True)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=1) + "\n")
    return result


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mlpcourse hub loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--section", default="01_dataset")
    parser.add_argument("--out", default=str(COURSE_ROOT / "build" / "hub-loadtest.json"))
    args = parser.parse_args(argv)
    result = run(args.students, args.section, args.out)
    print(json.dumps(result, indent=1))
    print(f"written to {args.out}")
    return 0 if result["validate_passed"] == args.students else 1
