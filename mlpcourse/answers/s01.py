"""Answers for 01_dataset."""
from . import alternative, mistake

NOTEBOOK = "01_dataset"

MISTAKES = [
    mistake("vocab", "letters counted from 0, so 'a' and '.' share index 0",
            old="stoi = {s: i + 1 for i, s in enumerate(chars)}",
            new="stoi = {s: i for i, s in enumerate(chars)}", loses=["vocab_test"]),
    mistake("build_dataset", "off-by-one context: the window is rolled before the example is stored",
            old="            X.append(context)\n            Y.append(ix)\n            context = context[1:] + [ix]",
            new="            context = context[1:] + [ix]\n            X.append(context)\n            Y.append(ix)",
            loses=["build_dataset_test"]),
    mistake("build_dataset", "the final '.' of each name is not an example",
            old="for ch in w + '.':", new="for ch in w:", loses=["build_dataset_test"]),
    mistake("vocab", "the full alphabet written out, not the letters that occur in words",
            new="import string\n\ndef build_vocab(words):\n    itos = dict(enumerate('.' + string.ascii_lowercase))\n    return {s: i for i, s in itos.items()}, itos",
            loses=["vocab_test"]),
    mistake("build_dataset", "block size hard-coded to 3",
            old="context = [0] * block_size", new="context = [0, 0, 0]", loses=["build_dataset_test"]),
    mistake("n_examples", "forgot the example for the final '.'",
            old="sum(len(w) + 1 for w in words)", new="sum(len(w) for w in words)", loses=["n_examples_test"]),
]

ALTERNATIVES = [
    alternative("vocab", "itos built first from a list, stoi inverted from it", new='''
def build_vocab(words):
    letters = sorted({ch for w in words for ch in w})
    itos = dict(enumerate(['.'] + letters))
    return {s: i for i, s in itos.items()}, itos'''.strip()),
    alternative("build_dataset", "contexts preallocated as a tensor and filled by slicing", new='''
def build_dataset(words, block_size, stoi):
    n = sum(len(w) + 1 for w in words)
    X = torch.zeros((n, block_size), dtype=torch.long)
    Y = torch.zeros(n, dtype=torch.long)
    row = 0
    for w in words:
        ids = [0] * block_size + [stoi[ch] for ch in w + '.']
        for t in range(len(w) + 1):
            X[row] = torch.tensor(ids[t:t + block_size])
            Y[row] = ids[t + block_size]
            row += 1
    return X, Y
'''.strip()),
    alternative("n_examples", "total characters plus number of names",
                new="n_examples = len(''.join(words)) + len(words)"),
]
