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
    mistake("build_dataset", "the notebook's global stoi used instead of the one passed in",
            old="def build_dataset(words, block_size, stoi):", new="def build_dataset(words, block_size, vocab):",
            loses=["build_dataset_test"]),
    mistake("build_dataset", "block size hard-coded to 3",
            old="context = [0] * block_size", new="context = [0, 0, 0]", loses=["build_dataset_test"]),
    mistake("n_examples", "forgot the example for the final '.'",
            old="sum(len(w) + 1 for w in words)", new="sum(len(w) for w in words)", loses=["n_examples_test"]),
    mistake("n_examples", "counts by building the data set instead of working the number out",
            old="return sum(len(w) + 1 for w in words)", new="return len(build_dataset(words, 3, stoi)[1])",
            loses=["n_examples_test"]),
    mistake("n_examples", "one example per character of the context: block_size per name added",
            old="sum(len(w) + 1 for w in words)", new="sum(len(w) + 3 for w in words)", loses=["n_examples_test"]),
    mistake("contexts", "the window includes the target itself",
            old="context_of_b = '..isa'\ncontext_of_second_l = 'sabel'",
            new="context_of_b = '.isab'\ncontext_of_second_l = 'abell'", loses=["contexts_test"]),
    mistake("contexts", "padding put after the letters instead of before them",
            old="context_of_b = '..isa'", new="context_of_b = 'isa..'", loses=["contexts_test"]),
    mistake("contexts", "the second l taken for the first one",
            old="context_of_second_l = 'sabel'", new="context_of_second_l = 'isabe'", loses=["contexts_test"]),
    mistake("in_place", "the rows a correct build_dataset would give: the shared list not noticed",
            old="in_place_rows = [[13, 1, 0]] * 5",
            new="in_place_rows = [[0, 0, 0], [0, 0, 5], [0, 5, 13], [5, 13, 13], [13, 13, 1]]", loses=["in_place_test"]),
    mistake("in_place", "every row taken for the first window",
            old="in_place_rows = [[13, 1, 0]] * 5", new="in_place_rows = [[0, 0, 0]] * 5", loses=["in_place_test"]),
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
                new="def count_examples(words):\n    return len(''.join(words)) + len(words)"),
    alternative("contexts", "read off build_dataset's rows after working them out",
                new="_X5, _Y5 = build_dataset(['isabella'], 5, stoi)\n"
                    "context_of_b = ''.join(itos[i] for i in _X5[3].tolist())\n"
                    "context_of_second_l = ''.join(itos[i] for i in _X5[6].tolist())"),
    alternative("in_place", "five separate lists with the same numbers",
                new="in_place_rows = [[13, 1, 0] for _ in range(5)]"),
]
