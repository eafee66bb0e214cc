"""Answers for 05_splits."""
from . import alternative, mistake

NOTEBOOK = "05_splits"

MISTAKES = [
    mistake("split_words", "shuffles the caller's list in place instead of a copy",
            old="    words = list(words)\n", new="", loses=["split_words_test"]),
    mistake("split_words", "shuffles without seeding first",
            old="    random.seed(seed)\n", new="", loses=["split_words_test"]),
    mistake("split_words", "cuts the dev split at 10 % instead of 90 %",
            old="int(0.9 * len(words))", new="int(0.1 * len(words))", loses=["split_words_test"]),
    mistake("split_examples", "three equal parts instead of 80/10/10",
            old="    cuts = (int(0.8 * n), int(0.9 * n))\n", new="    cuts = 3\n", loses=["split_examples_test"]),
    mistake("split_examples", "X and Y cut at different places (Y at 90 % twice)",
            old="torch.tensor_split(Y, cuts)", new="torch.tensor_split(Y, (int(0.9 * n), int(0.9 * n)))",
            loses=["split_examples_test"]),
    mistake("whole_split_loss", "keeps the given bug: the mean of the chunks' means", new='''
def split_loss(parameters, X, Y, chunk=10_000):
    with torch.no_grad():
        losses = [F.cross_entropy(makemore.forward(parameters, X[s:s + chunk]), Y[s:s + chunk]).item()
                  for s in range(0, X.shape[0], chunk)]
    return sum(losses) / len(losses)'''.strip(), loses=["whole_split_loss_test"]),
    mistake("whole_split_loss", "returns the loss tensor instead of a float",
            old="    return total / X.shape[0]", new="    return torch.tensor(total) / X.shape[0]",
            loses=["whole_split_loss_test"]),
    mistake("whole_split_loss", "drops the short last chunk",
            old="range(0, X.shape[0], chunk)", new="range(0, X.shape[0] - chunk + 1, chunk)",
            loses=["whole_split_loss_test"]),
    mistake("whole_split_loss", "sums the chunks' means and divides by the number of examples",
            old="Y[start:start + chunk], reduction='sum').item()", new="Y[start:start + chunk]).item()",
            loses=["whole_split_loss_test"]),
    mistake("whole_split_loss", "evaluates only the first chunk",
            old="reduction='sum').item()\n", new="reduction='sum').item()\n            break\n",
            loses=["whole_split_loss_test"]),
    mistake("whole_split_loss", "hands the work to makemore.loss_on, the course's code from 02",
            new='''
def split_loss(parameters, X, Y, chunk=10_000):
    with torch.inference_mode():
        return float(makemore.loss_on(parameters, X, Y))'''.strip(), loses=["whole_split_loss_test"]),
]

ALTERNATIVES = [
    alternative("split_words", "slices with a copy made by slicing, cut points computed inline", new='''
def split_words(words, seed):
    shuffled = words[:]
    random.seed(seed)
    random.shuffle(shuffled)
    return (shuffled[:int(0.8 * len(shuffled))], shuffled[int(0.8 * len(shuffled)):int(0.9 * len(shuffled))],
            shuffled[int(0.9 * len(shuffled)):])'''.strip()),
    alternative("split_examples", "plain slicing", new='''
def split_examples(X, Y):
    n1, n2 = int(0.8 * len(X)), int(0.9 * len(X))
    return (X[:n1], Y[:n1]), (X[n1:n2], Y[n1:n2]), (X[n2:], Y[n2:])'''.strip()),
    alternative("whole_split_loss", "each chunk's mean weighted by its size, with torch.split", new='''
@torch.no_grad()
def split_loss(parameters, X, Y, chunk=10_000):
    weighted = [F.cross_entropy(makemore.forward(parameters, x), y).item() * len(y)
                for x, y in zip(torch.split(X, chunk), torch.split(Y, chunk))]
    return sum(weighted) / len(Y)'''.strip()),
]
