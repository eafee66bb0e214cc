"""Answers for 07_sampling_and_tuning.

The three challenge cells (challenge_220_test, challenge_217_test, challenge_2155_test) grade
the file best_model.pt that a student hands in next to the notebook; grading never retrains
(the parameter train_best is off), so no change to the notebook's answers can move those points.
FILES names the instructor's model, which every example submission of this notebook except
the untouched release must carry next to the notebook for the reference to earn full marks
(check.py and the main job copy only the .ipynb). It is the file written by a full run of the
instructor notebook (train_best on); it lives here, on the instructor's side, and is never
released.
"""
from pathlib import Path

from . import alternative, file_mistake, mistake

NOTEBOOK = "07_sampling_and_tuning"

FILES = {"best_model.pt": Path(__file__).with_name("s07_best_model.pt")}

MISTAKES = [
    mistake("sample", "keeps the given bug: the context is set to '...' once, before the first name",
            old="    names = []\n    for _ in range(n):\n        out = []\n        context = [0] * block_size  # start with '...'\n",
            new="    names = []\n    context = [0] * block_size\n    for _ in range(n):\n        out = []\n",
            loses=["sample_reference_test"]),
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
    # issue 27: the check's configuration keys must not come from the kernel's CONFIG_KEYS
    mistake("experiments", "the same configuration run twice, told apart by a key of its own added to CONFIG_KEYS",
            new='''
CONFIG_KEYS.append('note')  # run_experiment copies every key of CONFIG_KEYS into the table's rows
steps = 30_000
experiments = [
    dict(block_size=3, n_embd=10, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5], note='a'),
    dict(block_size=4, n_embd=10, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5], note='b'),
    dict(block_size=3, n_embd=16, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5], note='c'),
    dict(block_size=3, n_embd=10, n_hidden=300, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5], note='d'),
    dict(block_size=3, n_embd=10, n_hidden=200, batch_size=32, max_steps=steps, lr=0.1, decays=[0.5], note='again'),
]
'''.strip(), loses=["results_test"]),
    mistake("experiments", "the last experiment forgets the key 'decays'",
            old="max_steps=steps, lr=0.1, decays=[0.5, 0.8]),   # both",
            new="max_steps=steps, lr=0.1),   # both", loses=["results_test"]),
]

ALTERNATIVES = [
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
    alternative("sample", "the given sampler with the context reset moved into the loop", new='''
@torch.no_grad()
def sample(parameters, n, g, block_size, itos):
    names = []
    for _ in range(n):
        context = [0] * block_size
        out = []
        while True:
            probs = F.softmax(makemore.forward(parameters, torch.tensor([context])), dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            out.append(ix)
            if ix == 0:
                break
        names.append(''.join(itos[i] for i in out))
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


_CHALLENGE = ["challenge_220_test", "challenge_217_test", "challenge_2155_test"]

MISTAKES += [
    file_mistake("best_model.pt", "best_model.pt not handed in", None, loses=_CHALLENGE),
    file_mistake("best_model.pt", "best_model.pt is not a torch file", b"not a model", loses=_CHALLENGE),
    file_mistake("best_model.pt", "W1 saved with the wrong shape", _edited_model(_drop_last_row), loses=_CHALLENGE),
]
