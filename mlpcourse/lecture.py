"""Reference building blocks of the lecture.

Each section writes one of these itself; the sections after it import the reference version
from here, so a mistake in one section never carries into the next.
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F

SEED = 2147483647  # the lecture's generator seed


def build_vocab(words):
    """The character vocabulary: stoi and itos, with '.' as 0 and a..z as 1..26 (Section 01)."""
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    itos = {i: s for s, i in stoi.items()}
    return stoi, itos


def build_dataset(words, block_size, stoi):
    """Context windows X (n, block_size) and next characters Y (n,), both int64 (Section 01)."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X, dtype=torch.int64).view(-1, block_size), torch.tensor(Y, dtype=torch.int64)


def init_params(g, vocab_size=27, n_embd=2, n_hidden=100, block_size=3):
    """[C, W1, b1, W2, b2] drawn from generator g in the lecture's order (Section 02)."""
    C = torch.randn((vocab_size, n_embd), generator=g)
    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)
    b1 = torch.randn(n_hidden, generator=g)
    W2 = torch.randn((n_hidden, vocab_size), generator=g)
    b2 = torch.randn(vocab_size, generator=g)
    return [C, W1, b1, W2, b2]


def count_params(parameters):
    """The number of scalars in a list of tensors (Section 02)."""
    return sum(p.nelement() for p in parameters)


def forward(parameters, X):
    """Logits (n, vocab_size) of the MLP for contexts X (Section 02)."""
    C, W1, b1, W2, b2 = parameters
    emb = C[X]  # (n, block_size, n_embd)
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)  # (n, n_hidden)
    return h @ W2 + b2  # (n, vocab_size)


def loss_on(parameters, X, Y):
    """Mean negative log likelihood of Y given X under the MLP (Section 02)."""
    return F.cross_entropy(forward(parameters, X), Y)


def split_words(words, seed=42, fractions=(0.8, 0.9)):
    """Shuffle a copy of words with random.seed(seed) and cut it 80/10/10 (Section 05)."""
    words = list(words)
    random.seed(seed)
    random.shuffle(words)
    n1, n2 = int(fractions[0] * len(words)), int(fractions[1] * len(words))
    return words[:n1], words[n1:n2], words[n2:]
