# The data sets a section's grading kernel would build first, built once per grading process and handed to each kernel.
# Never builds with a student's code: only with the grader's copy of the instructor's makemore.py and the verified names.txt.
"""Ready-made data sets for grading kernels.

Every section after 01 begins by building the lecture's data set from all 32,033 names (about
half a second of Python loops), and 06 to 08 the three parts of the random.seed(42) split as
well. A class grades the same section hundreds of times, so the grader builds these once per
process, with the section's own library (the grader's copy of source/<section>/makemore.py,
mlpcourse.hidden_checks.grader_library) and the verified names.txt, and writes them into each
kernel's folder before the kernel starts, named by mlpcourse.runtime.dataset_key. The
section's makemore.py loads them when build_dataset is called with the same arguments
(runtime._ready_made) and builds anything else itself.

A section gets only the data sets its own library can build: none in 01 (build_dataset is its
answer), the names in file order from 02 on, the split's parts from 06 on (split_words is 05's
answer). So no kernel holds data that answers an open cell of its own section or of an earlier one.
"""
from __future__ import annotations

import io
import random
from pathlib import Path

from .course import LIBRARY
from .runtime import dataset_key

FOLDER = "ready-made"  # in a kernel's folder, beside its connection file; read-only for the kernel
BLOCK_SIZE = 3  # the lecture's context length, the one every section starts with
SPLIT_SEED = 42  # the seed of the split the sections from 06 on rebuild with makemore.split_words
_saved = {}  # the library file's sha256 -> {file name: the tensors, as torch.save wrote them}


def _arguments(library, names):
    """[(words, block_size, stoi)] of the data sets this library can build."""
    if not all(callable(getattr(library, f, None)) for f in ("load_words", "build_vocab", "build_dataset")):
        return []
    words = library.load_words(names)
    stoi, _itos = library.build_vocab(words)
    calls = [(words, BLOCK_SIZE, stoi)]
    if callable(getattr(library, "split_words", None)):
        state = random.getstate()  # split_words seeds the global random, which the grader's other code shares
        try:
            calls += [(part, BLOCK_SIZE, stoi) for part in library.split_words(words, SPLIT_SEED)]
        finally:
            random.setstate(state)
    return calls


def _small(tensor):
    """(the tensor, its dtype's name), as uint8 where that keeps every value (character indices do):
    an eighth of the bytes to write for every kernel."""
    import torch

    dtype = str(tensor.dtype).removeprefix("torch.")
    small = tensor.to(torch.uint8)
    return (small if torch.equal(small.to(tensor.dtype), tensor) else tensor), dtype


def ready_made(library_path, names):
    """{file name: bytes} of the data sets that the library at library_path builds from names (the
    published names.txt, else nothing)."""
    import hashlib

    import torch

    from .hidden_checks import grader_library
    from .runtime import DataError, verify

    try:
        verify(names)
    except DataError:
        return {}
    text = Path(library_path).read_bytes()
    cache_key = hashlib.sha256(text).hexdigest()
    if cache_key not in _saved:
        library = grader_library(library_path)
        files = {}
        for words, block_size, stoi in _arguments(library, names):
            buffer = io.BytesIO()
            torch.save([_small(t) for t in library.build_dataset(words, block_size, stoi)], buffer)
            files[f"{dataset_key(words, block_size, stoi)}.pt"] = buffer.getvalue()
        _saved[cache_key] = files
    return _saved[cache_key]


def write_ready_made(folder, source_folder, kernel_folder, names):
    """Write the data sets of the section whose instructor's folder is source_folder into folder
    (made if missing); return folder, or None if the section has none or if the makemore.py the
    kernel will import (in kernel_folder) is not the instructor's, byte for byte."""
    library_path, kernel_library = Path(source_folder) / LIBRARY, Path(kernel_folder) / LIBRARY
    same = (library_path.is_file() and not kernel_library.is_symlink() and kernel_library.is_file()
            and kernel_library.read_bytes() == library_path.read_bytes())
    files = ready_made(library_path, names) if same else {}
    if not files:
        return None
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder
