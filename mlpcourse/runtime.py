"""The machinery of every section's makemore.py: reading names.txt (checksum-verified), the
grader's ready-made data sets and the grader's short runs under nbgrader's Validate.

mlpcourse.library copies this text into each section's makemore.py, below the code of the earlier
sections and the figures, under the line that marks the course's machinery. It holds no graded
function; the course's own tools import it for the same checksum and download (mlpcourse.data).
"""
import functools
import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

# --- names.txt ----------------------------------------------------------------------------

NAMES_URL = "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
NAMES_ENV = "MAKEMORE_NAMES"


def cache_path():
    """The per-user copy, outside any section's folder (so it is never handed in):
    $XDG_CACHE_HOME/makemore-mlp/names.txt, by default ~/.cache/makemore-mlp/names.txt."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "makemore-mlp" / "names.txt"


class DataError(RuntimeError):
    """names.txt is missing, cannot be downloaded, or is not the published file."""


def sha256(path):
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path):
    """Return `path` as a Path if it is the published names.txt, else raise DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist.")
    actual = sha256(path)
    if actual != NAMES_SHA256:
        raise DataError(f"{path} is not the makemore names.txt (sha256 {actual[:12]}…, expected "
                        f"{NAMES_SHA256[:12]}…). Delete it and run the cell again, or point ${NAMES_ENV} at a good copy.")
    return path


def download(dest, url=None):
    """Download names.txt (from NAMES_URL unless `url` is given) to `dest`, keeping it only if its
    checksum is right."""
    url = url or NAMES_URL
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False, suffix=".part") as tmp:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                shutil.copyfileobj(response, tmp)
        except OSError as exc:
            os.unlink(tmp.name)
            raise DataError(
                f"names.txt is not on this computer and could not be downloaded from {url} ({exc}). "
                f"Copy names.txt (32,033 names) to {cache_path()}, or set ${NAMES_ENV} to its path, "
                "then run the cell again.") from None
    try:
        verify(tmp.name)
    except DataError:
        os.unlink(tmp.name)
        raise
    os.replace(tmp.name, dest)
    return dest


def _places():
    """Where a copy may already be: beside the notebook (older instructions), data/ here or above
    (the course's own copy), the user's cache."""
    here = Path.cwd().resolve()
    yield here / "names.txt"
    for folder in (here, *here.parents):
        yield folder / "data" / "names.txt"
    yield cache_path()


def names_path(path=None):
    """A verified names.txt: `path`, else $MAKEMORE_NAMES, else a copy found nearby, else a download."""
    if path:
        return verify(path)
    if os.environ.get(NAMES_ENV):
        return verify(os.environ[NAMES_ENV])
    for candidate in _places():
        if candidate.is_file():
            return verify(candidate)
    return download(cache_path())


def load_words(path=None):
    """All names of names.txt, one string each."""
    return names_path(path).read_text().splitlines()


# --- the grader's ready-made data sets ------------------------------------------------------

READY_MADE_ENV = "MAKEMORE_READY_MADE"  # set by the grader only: the folder of the data sets it built


def dataset_key(words, block_size, stoi):
    """The sha256 that names build_dataset(words, block_size, stoi) among the ready-made data
    sets; None for arguments other than a list of str, an int and a dict of str to int."""
    if not (isinstance(words, list) and all(type(w) is str for w in words) and type(block_size) is int
            and type(stoi) is dict and all(type(k) is str and type(v) is int for k, v in stoi.items())):
        return None
    text = json.dumps([words, block_size, sorted(stoi.items())], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _ready_made(build_dataset):
    """build_dataset as it is, except in a grading kernel: there the grader has built the data sets
    this section asks for before the kernel started (with this same function, from the verified
    names.txt), and a call with those arguments loads its tensors instead of building them again."""
    folder = os.environ.get(READY_MADE_ENV)
    if not folder:
        return build_dataset

    @functools.wraps(build_dataset)
    def build_dataset_or_ready_made(words, block_size, stoi):
        key = dataset_key(words, block_size, stoi)
        path = os.path.join(folder, f"{key}.pt")
        if key is None or not os.path.isfile(path):
            return build_dataset(words, block_size, stoi)
        import torch

        (X, X_dtype), (Y, Y_dtype) = torch.load(path, weights_only=True)  # kept small: back to their dtypes
        return X.to(getattr(torch, X_dtype)), Y.to(getattr(torch, Y_dtype))
    return build_dataset_or_ready_made


# --- nbgrader's Validate ------------------------------------------------------------------

GRADING_PARAMETERS = {}  # the section's short runs; the library generator writes each section's


def shorter_runs_when_validating(namespace):
    """Under nbgrader's Validate, set the grader's short runs (GRADING_PARAMETERS) in namespace.

    nbgrader runs Validate with NBGRADER_EXECUTION=validate; anywhere else this does nothing, so
    the notebook keeps the lecture's lengths when you run it yourself.
    """
    if os.environ.get("NBGRADER_EXECUTION") != "validate" or not GRADING_PARAMETERS:
        return
    namespace.update(GRADING_PARAMETERS)
    print("Validating: the grader's short runs,",
          ", ".join(f"{name}={value!r}" for name, value in GRADING_PARAMETERS.items()))
