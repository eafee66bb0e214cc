"""Answers for 03_training."""
from . import alternative, mistake

NOTEBOOK = "03_training"

MISTAKES = [
    mistake("train_step", "forgets to zero the gradients, so they pile up from step to step",
            old="    for p in parameters:\n        p.grad = None\n", new="", loses=["train_step_test"]),
    mistake("train_step", "steps along the gradient (gradient ascent)",
            old="p.data += -lr * p.grad", new="p.data += lr * p.grad", loses=["train_step_test"]),
    mistake("train_step", "learning rate hard-coded to the lecture's 0.1 instead of the lr argument",
            old="p.data += -lr * p.grad", new="p.data += -0.1 * p.grad", loses=["train_step_test"]),
    mistake("train_step", "summed instead of mean cross-entropy",
            old="F.cross_entropy(makemore.forward(parameters, X), Y)",
            new="F.cross_entropy(makemore.forward(parameters, X), Y, reduction='sum')", loses=["train_step_test"]),
    mistake("train_step", "rebinds the loop variable, so no parameter changes",
            old="p.data += -lr * p.grad", new="p = p - lr * p.grad", loses=["train_step_test"]),
    mistake("train_step", "returns the loss tensor instead of a float",
            old="return loss.item()", new="return loss", loses=["train_step_test"]),
    mistake("b2_grad", "every example pushes b2 by one: the one-hot part alone",
            old="b2_grad_sum = 0.0", new="b2_grad_sum = 1.0", loses=["b2_grad_test"]),
    mistake("b2_grad", "minus one, the sign of the one-hot part",
            old="b2_grad_sum = 0.0", new="b2_grad_sum = -1.0", loses=["b2_grad_test"]),
    mistake("min_loss", "training for ever is taken to reach 0",
            old="min_loss = 5 * math.log(5) / 32", new="min_loss = 0.0", loses=["min_loss_test"]),
    mistake("min_loss", "the cost of one '...' example, not the mean over all 32",
            old="min_loss = 5 * math.log(5) / 32", new="min_loss = math.log(5)", loses=["min_loss_test"]),
    mistake("min_loss", "averaged over the 27 characters instead of the 32 examples",
            old="min_loss = 5 * math.log(5) / 32", new="min_loss = 5 * math.log(5) / 27", loses=["min_loss_test"]),
    mistake("sampling", "steps taken for examples: the batch size forgotten",
            old="uses_per_example = 200_000 * 32 / 228_146", new="uses_per_example = 200_000 / 228_146",
            loses=["sampling_test"]),
    mistake("sampling", "draws taken as distinct: the fraction never drawn as 1 - draws / examples",
            old="never_drawn = (1 - 1 / 228_146) ** (1_000 * 32)", new="never_drawn = 1 - 32_000 / 228_146",
            loses=["sampling_test"]),
    mistake("sampling", "the chance of being drawn, not of being missed",
            old="never_drawn = (1 - 1 / 228_146) ** (1_000 * 32)", new="never_drawn = 1 - (1 - 1 / 228_146) ** (1_000 * 32)",
            loses=["sampling_test"]),
    mistake("get_batch", "draws the indices from the global random generator instead of g",
            old=", generator=g)", new=")", loses=["get_batch_test"]),
    mistake("get_batch", "draws separate indices for X and Y, so contexts lose their targets",
            old="return X[ix], Y[ix]",
            new="return X[ix], Y[torch.randint(0, Y.shape[0], (batch_size,), generator=g)]", loses=["get_batch_test"]),
    mistake("get_batch", "off by one: never draws the last example (high is already excluded)",
            old="torch.randint(0, X.shape[0],", new="torch.randint(0, X.shape[0] - 1,", loses=["get_batch_test"]),
    mistake("get_batch", "samples without replacement with randperm, not the lecture's randint stream",
            old="ix = torch.randint(0, X.shape[0], (batch_size,), generator=g)",
            new="ix = torch.randperm(X.shape[0], generator=g)[:batch_size]", loses=["get_batch_test"]),
]

ALTERNATIVES = [
    alternative("train_step", "gradients zeroed in place first, update under torch.no_grad()", new='''
def train_step(parameters, X, Y, lr):
    for p in parameters:
        if p.grad is not None:
            p.grad.zero_()
    logits = makemore.forward(parameters, X)
    loss = F.cross_entropy(logits, Y)
    loss.backward()
    with torch.no_grad():
        for p in parameters:
            p -= lr * p.grad
    return float(loss)'''.strip()),
    alternative("train_step", "torch.optim.SGD and a hand-written negative log likelihood", new='''
def train_step(parameters, X, Y, lr):
    opt = torch.optim.SGD(parameters, lr=lr)
    opt.zero_grad()
    logp = F.log_softmax(makemore.forward(parameters, X), dim=1)
    loss = -logp[torch.arange(Y.shape[0]), Y].mean()
    loss.backward()
    opt.step()
    return loss.item()'''.strip()),
    alternative("b2_grad", "an integer zero", old="b2_grad_sum = 0.0", new="b2_grad_sum = 0"),
    alternative("min_loss", "five examples at probability 1/5, the rest free",
                old="min_loss = 5 * math.log(5) / 32", new="min_loss = -5 * math.log(1 / 5) / 32"),
    alternative("sampling", "the exponential approximation, and the count written out",
                new="import math\nuses_per_example = 6_400_000 / 228_146\nnever_drawn = math.exp(-32_000 / 228_146)"),
    alternative("get_batch", "randint with the default low, index_select", new='''
def get_batch(X, Y, batch_size, g):
    ix = torch.randint(len(Y), size=(batch_size,), generator=g)
    return X.index_select(0, ix), Y.index_select(0, ix)'''.strip()),
]
