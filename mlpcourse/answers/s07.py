"""Answers for 07_sampling_and_tuning.

The three challenge cells (challenge_220_test, challenge_217_test, challenge_213_test) grade
the file best_model.pt that a student hands in next to the notebook; grading never retrains
(the parameter train_best is off), so no change to the notebook's answers can move those points.
FILES names the instructor's model, which every example submission of this notebook except
the untouched release must carry next to the notebook for the reference to earn full marks
(check.py and the main job copy only the .ipynb). It is the file the instructor notebook
written by a full run of the instructor notebook (train_best on); it lives here, on the
instructor's side, and is never released.
"""
from pathlib import Path

from . import alternative, file_mistake, mistake

NOTEBOOK = "07_sampling_and_tuning"

FILES = {"best_model.pt": Path(__file__).with_name("s07_best_model.pt")}

_LOG = "print(f'{i:7d}/{max_steps:7d}: {loss.item():.4f}')"

MISTAKES = [
    mistake("tuning_train", "the gradients are never reset, so they pile up from step to step",
            old="        for p in parameters:\n            p.grad = None\n", new="",
            loses=["train_test"]),
    mistake("tuning_train", "the minibatch is drawn without the generator",
            old="(batch_size,), generator=g)", new="(batch_size,))", loses=["train_test"]),
    mistake("tuning_train", "the learning rate schedule is ignored (always 0.1)",
            old="lr = lr_at(i)", new="lr = 0.1", loses=["train_test"]),
    mistake("tuning_train", "returns the loss itself instead of its log10",
            old="lossi.append(loss.log10().item())", new="lossi.append(loss.item())",
            loses=["train_test"]),
    mistake("tuning_train", "log line without the fixed widths",
            old=_LOG, new="print(f'{i}/{max_steps}: {loss.item():.4f}')", loses=["train_log_test"]),
    mistake("tuning_train", "logs at the end of each interval instead of its start",
            old="if i % log_every == 0:", new="if i % log_every == log_every - 1:",
            loses=["train_log_test"]),
    mistake("split_loss", "evaluates one minibatch instead of the whole split",
            old="logits = makemore.forward(parameters, X)\n    return F.cross_entropy(logits, Y).item()",
            new="logits = makemore.forward(parameters, X[:32])\n    return F.cross_entropy(logits, Y[:32]).item()",
            loses=["split_loss_test"]),
    mistake("split_loss", "returns the loss tensor, not a float",
            old="return F.cross_entropy(logits, Y).item()", new="return F.cross_entropy(logits, Y)",
            loses=["split_loss_test"]),
    mistake("split_loss", "sums the losses instead of averaging them",
            old="F.cross_entropy(logits, Y).item()", new="F.cross_entropy(logits, Y, reduction='sum').item()",
            loses=["split_loss_test"]),
    mistake("sample", "torch.multinomial without the generator: other names on every call",
            old="torch.multinomial(probs, num_samples=1, generator=g)", new="torch.multinomial(probs, num_samples=1)",
            loses=["sample_test", "sample_reference_test"]),
    mistake("sample", "the final '.' is not part of the name",
            old="            out.append(ix)\n            if ix == 0:\n                break",
            new="            if ix == 0:\n                break\n            out.append(ix)",
            loses=["sample_test", "sample_reference_test"]),
    mistake("sample", "the new character enters the context at the front instead of the end",
            old="context = context[1:] + [ix]", new="context = [ix] + context[:-1]", loses=["sample_reference_test"]),
    mistake("sample", "softmax over the wrong dimension (every character equally likely)",
            old="F.softmax(logits, dim=1)", new="F.softmax(logits, dim=0)", loses=["sample_reference_test"]),
    mistake("experiments", "only four experiments", new='''
steps = 30_000
experiments = [
    dict(block_size=3, n_embd=10, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5]),
    dict(block_size=4, n_embd=10, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5]),
    dict(block_size=3, n_embd=16, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5]),
    dict(block_size=3, n_embd=10, n_hidden=300, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5]),
]
'''.strip(), loses=["results_test"]),
    mistake("experiments", "the same configuration run twice, so only four different ones", new='''
steps = 30_000
experiments = [
    dict(block_size=3, n_embd=10, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5]),
    dict(block_size=4, n_embd=10, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5]),
    dict(block_size=3, n_embd=16, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5]),
    dict(block_size=3, n_embd=10, n_hidden=300, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5]),
    dict(block_size=3, n_embd=10, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5]),
]
'''.strip(), loses=["results_test"]),
    mistake("experiments", "the last experiment forgets the key 'decays'",
            old="max_steps=steps, lr=0.1, decays=[0.5, 0.8], small_init=True),  # all of it",
            new="max_steps=steps, lr=0.1, small_init=True),  # all of it", loses=["results_test"]),
    mistake("split_loss", "hands the work to makemore.loss_on, the course's code from 02 with the same signature",
            old="logits = makemore.forward(parameters, X)\n    return F.cross_entropy(logits, Y).item()",
            new="return float(makemore.loss_on(parameters, X, Y))", loses=["split_loss_test"]),
    mistake("tuning_train", "hands the work to makemore.train_mlp, the course's loop from 03",
            new="def train(parameters, X, Y, max_steps, lr_at, g, batch_size=32, log_every=10_000):\n"
                "    return makemore.train_mlp(parameters, X, Y, max_steps, lr_at, g, batch_size, log_every)",
            loses=["train_test", "train_log_test"]),
]

ALTERNATIVES = [
    alternative("tuning_train", "update under torch.no_grad() and the logits written out", new='''
def train(parameters, X, Y, max_steps, lr_at, g, batch_size=32, log_every=10_000):
    C, W1, b1, W2, b2 = parameters
    for p in parameters:
        p.requires_grad_()
    lossi = []
    for i in range(max_steps):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=g)
        emb = C[X[ix]]
        h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
        loss = F.cross_entropy(h @ W2 + b2, Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in parameters:
                p -= lr_at(i) * p.grad
        lossi.append(loss.log10().item())
        if i % log_every == 0:
            print(f'{i:7d}/{max_steps:7d}: {loss.item():.4f}')
    return lossi
'''.strip()),
    alternative("sample", "a string built character by character, torch.softmax", new='''
@torch.no_grad()
def sample(parameters, n, g, block_size, itos):
    C, W1, b1, W2, b2 = parameters
    names = []
    while len(names) < n:
        context, name = [0] * block_size, ''
        ix = None
        while ix != 0:
            h = torch.tanh(C[torch.tensor(context)].view(1, -1) @ W1 + b1)
            ix = torch.multinomial(torch.softmax(h @ W2 + b2, dim=-1), 1, generator=g).item()
            name += itos[ix]
            context = context[1:] + [ix]
        names.append(name)
    return names
'''.strip()),
    alternative("experiments", "a grid over two sizes written as a comprehension", new='''
experiments = [dict(block_size=b, n_embd=e, n_hidden=200, batch_size=32, max_steps=20_000, lr=0.1, decays=[0.5])
               for b in (3, 4, 5) for e in (8, 12)]
'''.strip()),
]


def _edited_model(edit):
    """The instructor's model with one change, as the bytes of a torch file."""
    import io

    import torch

    state = torch.load(FILES["best_model.pt"], weights_only=True)
    edit(state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _drop_last_row(state):
    state["W1"] = state["W1"][:-1]


_CHALLENGE = ["challenge_220_test", "challenge_217_test", "challenge_213_test"]

MISTAKES += [
    file_mistake("best_model.pt", "best_model.pt not handed in", None, loses=_CHALLENGE),
    file_mistake("best_model.pt", "best_model.pt is not a torch file", b"not a model", loses=_CHALLENGE),
    file_mistake("best_model.pt", "W1 saved with the wrong shape", _edited_model(_drop_last_row), loses=_CHALLENGE),
]
