"""Provisioning of data/names.txt for the course folder: a given path or $MAKEMORE_NAMES first,
then the upstream copy, always checksum-verified.

    python -m mlpcourse provision [--source PATH] [--no-download]

The checksum, the download and the search for a copy are the student runtime's
(mlpcourse/runtime.py, shipped in every section's makemore.py): one text for both sides.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from .course import COURSE_ROOT
from .runtime import NAMES_ENV, NAMES_SHA256, DataError, download, sha256, verify  # noqa: F401

DEST = COURSE_ROOT / "data" / "names.txt"


def provision(source=None, dest=None, allow_download: bool = True) -> Path:
    """Put a verified names.txt at `dest` (default data/names.txt) and return its path.

    The copy comes from `source`, else from $MAKEMORE_NAMES, else from the upstream URL.
    An existing file at `dest` is kept only if its checksum is right.
    """
    dest = Path(dest) if dest else DEST
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
    """The verified names.txt of the course: `path`, $MAKEMORE_NAMES, data/names.txt, or a download."""
    if path:
        return verify(path)
    if os.environ.get(NAMES_ENV):
        return verify(os.environ[NAMES_ENV])
    return provision()


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
