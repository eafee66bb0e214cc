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
    seq, starts = [], []  # every name as '...' + name + '.', one after the other; where its windows start
    for w in words:
        base = len(seq)
        seq.extend([0] * block_size)
        seq.extend(stoi[ch] for ch in w)
        seq.append(0)
        starts.extend(range(base, base + len(w) + 1))
    seq = torch.tensor(seq, dtype=torch.int64)
    starts = torch.tensor(starts, dtype=torch.int64)
    return seq[starts.view(-1, 1) + torch.arange(block_size)], seq[starts + block_size]


def init_params(g, vocab_size=27, n_embd=2, n_hidden=100, block_size=3):
    """[C, W1, b1, W2, b2] drawn from generator g in the lecture's order (Section 02)."""
    C = torch.randn((vocab_size, n_embd), generator=g)
    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)
    b1 = torch.randn(n_hidden, generator=g)
    W2 = torch.randn((n_hidden, vocab_size), generator=g)
    b2 = torch.randn(vocab_size, generator=g)
    return [C, W1, b1, W2, b2]


def init_scaled(g, vocab_size=27, n_embd=10, n_hidden=200, block_size=3, scales=(1.0, 1.0, 1.0, 1.0)):
    """init_params, then W1, b1, W2, b2 multiplied by the four scales; C as drawn (Section 08)."""
    C, W1, b1, W2, b2 = init_params(g, vocab_size, n_embd, n_hidden, block_size)
    return [C] + [p * s for p, s in zip([W1, b1, W2, b2], scales)]


def count_params(parameters):
    """The number of scalars in a list of tensors (Section 02)."""
    return sum(p.nelement() for p in parameters)


def forward(parameters, X):
    """Logits (n, vocab_size) of the MLP for contexts X (Section 02)."""
    C, W1, b1, W2, b2 = parameters
    emb = C[X]  # (n, block_size, n_embd)
    h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)  # (n, n_hidden)
    return h @ W2 + b2  # (n, vocab_size)


def hidden_layer(parameters, X):
    """Pre-activations and tanh outputs of the hidden layer, both (n, n_hidden), for contexts X (Section 08)."""
    C, W1, b1, W2, b2 = parameters
    emb = C[X]  # (n, block_size, n_embd)
    hpreact = emb.view(emb.shape[0], -1) @ W1 + b1  # (n, n_hidden)
    return hpreact, torch.tanh(hpreact)


def first_batch(parameters, X, Y, g, batch_size=32):
    """(loss as a float, hpreact, h, logits) of one minibatch drawn with g, without training (Section 08)."""
    ix = torch.randint(0, X.shape[0], (batch_size,), generator=g)
    with torch.no_grad():
        hpreact, h = hidden_layer(parameters, X[ix])
        logits = h @ parameters[3] + parameters[4]
        loss = F.cross_entropy(logits, Y[ix]).item()
    return loss, hpreact, h, logits


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


def train_mlp(parameters, X, Y, max_steps, lr_at, g, batch_size=32, log_every=10_000):
    """Minibatch SGD on [C, W1, b1, W2, b2] in place; returns log10 of each step's loss (Section 07)."""
    for p in parameters:
        p.requires_grad = True
    lossi = []
    for i in range(max_steps):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=g)
        loss = F.cross_entropy(forward(parameters, X[ix]), Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = lr_at(i)
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
        if log_every and i % log_every == 0:
            print(f"{i:7d}/{max_steps:7d}: {loss.item():.4f}")
    return lossi


@torch.no_grad()
def sample_names(parameters, n, g, block_size, itos):
    """n names drawn from the MLP with generator g, each ending with '.' (Section 07)."""
    names = []
    for _ in range(n):
        out, context = [], [0] * block_size
        while True:
            probs = F.softmax(forward(parameters, torch.tensor([context])), dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            out.append(ix)
            if ix == 0:
                break
        names.append("".join(itos[i] for i in out))
    return names


def challenge_model_path(name="best_model.pt"):
    """Where 07 saves and grades the challenge model: next to the notebook (Section 07).

    Inside the course's own source/ folder (the instructor's copy) the file lives with the
    answer catalogue instead, mlpcourse/answers/s07_best_model.pt: nbgrader would hand out any
    other file of source/ with the release and copy it over each student's own at grading.
    """
    from pathlib import Path

    here = Path.cwd().resolve()
    course = Path(__file__).resolve().parent.parent
    if here == course / "source" / "mlp_language_model":
        return course / "mlpcourse" / "answers" / "s07_best_model.pt"
    return here / name
