"""Helpers for the makemore MLP course: data, the lecture's reference building blocks, figures.

Notebooks import what an earlier section taught from here instead of copying it.
"""
from . import checks
from .data import DataError, load_words, names_path, provision, verify
from .lecture import (SEED, build_dataset, build_vocab, count_params, first_batch, forward, hidden_layer,
                      init_params, init_scaled, loss_on, split_words)
from .plots import plot_activations, plot_embedding

__all__ = [
    "checks", "DataError", "load_words", "names_path", "provision", "verify",
    "SEED", "build_dataset", "build_vocab", "count_params", "forward", "init_params",
    "loss_on", "split_words", "plot_embedding", "init_scaled", "hidden_layer", "first_batch",
    "plot_activations",
]

# The course's own functions (these, and mlpcourse.checks itself) are restored before every
# test cell, like torch's comparison helpers: an answer cell cannot replace them for a test.
checks.watch_course()
