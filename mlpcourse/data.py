"""Provisioning of names.txt: a given path or $MAKEMORE_NAMES first, then the upstream copy.

Every copy is checked against the published sha256 before it is used; a missing or corrupt
file stops with a message that says what to do.  Run ``python -m mlpcourse provision`` to
provision ``data/names.txt`` in the course directory.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

NAMES_URL = "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
NAMES_ENV = "MAKEMORE_NAMES"
COURSE_ROOT = Path(__file__).resolve().parent.parent


class DataError(RuntimeError):
    """names.txt is missing or is not the published file (Section 01)."""


def sha256(path) -> str:
    """The sha256 hex digest of a file (Section 01)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path) -> Path:
    """Return `path` if it is the published names.txt, else raise DataError (Section 01)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist.")
    actual = sha256(path)
    if actual != NAMES_SHA256:
        raise DataError(
            f"{path} is not the makemore names.txt (sha256 {actual[:12]}…, expected "
            f"{NAMES_SHA256[:12]}…). Delete it and run `python -m mlpcourse provision` again, "
            f"or point ${NAMES_ENV} at a good copy."
        )
    return path


def _candidates():
    """Where an already provisioned copy may be: the course data/ folder, then the cwd's parents."""
    yield COURSE_ROOT / "data" / "names.txt"
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        yield folder / "data" / "names.txt"


def download(dest, url: str = NAMES_URL) -> Path:
    """Download names.txt to `dest`, keeping it only if the checksum matches (Section 01)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, suffix=".part") as tmp:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                shutil.copyfileobj(response, tmp)
        except OSError as exc:
            os.unlink(tmp.name)
            raise DataError(
                f"could not download {url} ({exc}). Copy names.txt to {dest} by hand, or set "
                f"${NAMES_ENV} to a local copy."
            ) from exc
    try:
        verify(tmp.name)
    except DataError:
        os.unlink(tmp.name)
        raise
    os.replace(tmp.name, dest)
    return dest


def provision(source=None, dest=None, allow_download: bool = True) -> Path:
    """Put a verified names.txt at `dest` (default data/names.txt) and return its path (Section 01).

    The copy comes from `source`, else from $MAKEMORE_NAMES, else from the upstream URL.
    An existing file at `dest` is kept only if its checksum is right.
    """
    dest = Path(dest) if dest else COURSE_ROOT / "data" / "names.txt"
    source = source or os.environ.get(NAMES_ENV) or None
    if dest.exists():
        try:
            return verify(dest)
        except DataError as exc:
            print(f"warning: {exc} Replacing it.", file=sys.stderr)
            dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    if source:
        verify(source)
        tmp = dest.with_suffix(".part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
        return verify(dest)
    if not allow_download:
        raise DataError(f"{dest} is missing: run `python -m mlpcourse provision --source PATH` (or `make data`).")
    return download(dest)


def names_path(path=None) -> Path:
    """The path of a verified names.txt: `path`, $MAKEMORE_NAMES, data/names.txt, or a download (Section 01)."""
    if path:
        return verify(path)
    if os.environ.get(NAMES_ENV):
        return verify(os.environ[NAMES_ENV])
    for candidate in _candidates():
        if candidate.is_file():
            return verify(candidate)
    return provision()


def load_words(path=None) -> list[str]:
    """All names of names.txt, one string each (Section 01)."""
    return names_path(path).read_text().splitlines()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help=f"a local copy to use (default: ${NAMES_ENV}, then download)")
    parser.add_argument("--dest", help="where to put it (default: data/names.txt in the course)")
    parser.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    args = parser.parse_args(argv)
    try:
        path = provision(args.source, args.dest, allow_download=not args.no_download)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    n = len(path.read_text().splitlines())
    print(f"{path}: {n} names, sha256 {NAMES_SHA256[:12]}… verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
