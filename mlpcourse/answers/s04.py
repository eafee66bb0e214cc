"""Answers for 04_learning_rate."""
from . import alternative, mistake

NOTEBOOK = "04_learning_rate"

MISTAKES = [
    mistake("compare", "one fresh start for all three runs: the later ones go on from the trained network",
            old="for lr in [0.001, 0.1, 1.0]:\n    g, parameters = fresh_start()\n",
            new="g, parameters = fresh_start()\nfor lr in [0.001, 0.1, 1.0]:\n", loses=["compare_test"]),
    mistake("compare", "the raw losses kept instead of the log10 that train_mlp returns",
            old="runs[lr] = makemore.train_mlp(parameters, X, Y, compare_steps, lambda i: lr, g, batch_size, log_every=0)",
            new="runs[lr] = [10 ** v for v in makemore.train_mlp(parameters, X, Y, compare_steps, lambda i: lr, g, batch_size, log_every=0)]",
            loses=["compare_test"]),
    mistake("compare", "the runs keyed by their position instead of their learning rate",
            old="    runs[lr] = makemore", new="    runs[[0.001, 0.1, 1.0].index(lr)] = makemore", loses=["compare_test"]),
    mistake("compare", "final taken from the last minibatch of the run, not from all examples",
            old="final[lr] = makemore.loss_on(parameters, X, Y).item()", new="final[lr] = 10 ** runs[lr][-1]",
            loses=["compare_test"]),
    mistake("spacing", "both spacings taken to put a third of the candidates in every factor of 10",
            old="share_linear = (0.1 - 0.01) / (1 - 0.001)", new="share_linear = 1 / 3", loses=["spacing_test"]),
    mistake("spacing", "the two answers swapped",
            old="share_log = 1 / 3\nshare_linear = (0.1 - 0.01) / (1 - 0.001)",
            new="share_log = (0.1 - 0.01) / (1 - 0.001)\nshare_linear = 1 / 3", loses=["spacing_test"]),
    mistake("lr_choice", "the largest learning rate of the sweep",
            old="lr_choice = 0.1", new="lr_choice = 1.0", loses=["lr_choice_test"]),
    mistake("lr_choice", "the smallest learning rate, to be safe",
            old="lr_choice = 0.1", new="lr_choice = 0.001", loses=["lr_choice_test"]),
    mistake("lr_choice", "the exponent stored instead of the learning rate",
            old="lr_choice = 0.1", new="lr_choice = -1.0", loses=["lr_choice_test"]),
    mistake("lr_choice", "just before the blow-up, where the sweep already climbs",
            old="lr_choice = 0.1", new="lr_choice = 10 ** -0.3", loses=["lr_choice_test"]),
    mistake("lr_candidates", "exponents built with arange, so 0 (lr = 1) is never reached",
            old="lre = torch.linspace(-3, 0, n)", new="lre = torch.arange(n) * (3 / n) - 3",
            loses=["lr_candidates_test"]),
    mistake("lr_candidates", "natural exponential instead of powers of ten",
            old="lrs = 10**lre", new="lrs = torch.exp(lre)", loses=["lr_candidates_test"]),
    mistake("lr_candidates", "learning rates spaced linearly, exponents taken from them",
            old="lre = torch.linspace(-3, 0, n)\n    lrs = 10**lre",
            new="lrs = torch.linspace(0.001, 1, n)\n    lre = lrs.log10()", loses=["lr_candidates_test"]),
    mistake("lr_sweep", "uses the exponent itself as the learning rate",
            old="lr = 10**e", new="lr = e", loses=["lr_sweep_test"]),
    mistake("lr_sweep", "one fixed learning rate for every candidate",
            old="lr = 10**e", new="lr = 0.1", loses=["lr_sweep_test"]),
    mistake("lr_sweep", "minibatches drawn from the global generator instead of g",
            old=", generator=g)", new=")", loses=["lr_sweep_test"]),
    mistake("lr_sweep", "gradients never zeroed",
            old="        for p in parameters:\n            p.grad = None\n", new="", loses=["lr_sweep_test"]),
    mistake("lr_sweep", "records the loss after the update instead of before",
            old="pairs.append((e, loss.item()))",
            new="pairs.append((e, F.cross_entropy(makemore.forward(parameters, X[ix]), Y[ix]).item()))",
            loses=["lr_sweep_test"]),
    mistake("lr_sweep", "keeps the exponents as 0-d tensors in the pairs",
            old="for e in lre.tolist():", new="for e in lre:", loses=["lr_sweep_test"]),
    mistake("lr_sweep", "hands the sweep to the course's train_mlp, one step per exponent, and undoes its log10", new='''
def lr_sweep(parameters, X, Y, lre, g, batch_size):
    exps = lre.tolist()
    lossi = makemore.train_mlp(parameters, X, Y, len(exps), lambda i: 10 ** exps[i], g, batch_size, log_every=0)
    return [(e, 10 ** l) for e, l in zip(exps, lossi)]'''.strip(), loses=["lr_sweep_test"]),
    mistake("learning_rate", "off by one: step decay_at still uses 0.1",
            old="step < decay_at", new="step <= decay_at", loses=["learning_rate_test"]),
    mistake("learning_rate", "decays to 0.001 instead of 0.01",
            old="else 0.01", new="else 0.001", loses=["learning_rate_test"]),
    mistake("learning_rate", "never decays",
            old="return 0.1 if step < decay_at else 0.01", new="return 0.1", loses=["learning_rate_test"]),
]

ALTERNATIVES = [
    alternative("compare", "a loop of 03's get_batch and train_step from the library, log10 kept by hand", new='''
runs, final = {}, {}
for lr in [1.0, 0.1, 0.001]:
    g, parameters = fresh_start()
    runs[lr] = []
    for i in range(compare_steps):
        Xb, Yb = makemore.get_batch(X, Y, batch_size, g)
        runs[lr].append(torch.tensor(makemore.train_step(parameters, Xb, Yb, lr)).log10().item())
    final[lr] = float(F.cross_entropy(makemore.forward(parameters, X), Y))
print(final)'''.strip()),
    alternative("spacing", "counted on the candidates themselves", new='''
lrs_log = 10 ** torch.linspace(-3, 0, 1000)
lrs_lin = torch.linspace(0.001, 1, 1000)
share_log = ((lrs_log >= 0.01) & (lrs_log <= 0.1)).float().mean().item()
share_linear = ((lrs_lin >= 0.01) & (lrs_lin <= 0.1)).float().mean().item()'''.strip()),
    alternative("lr_choice", "a little below the bottom of the curve", old="lr_choice = 0.1", new="lr_choice = 10 ** -0.9"),
    alternative("lr_choice", "a rate of 0.2", old="lr_choice = 0.1", new="lr_choice = 0.2"),
    alternative("lr_sweep", "03's get_batch and train_step from the library, one step per exponent", new='''
def lr_sweep(parameters, X, Y, lre, g, batch_size):
    pairs = []
    for e in lre.tolist():
        Xb, Yb = makemore.get_batch(X, Y, batch_size, g)
        pairs.append((e, makemore.train_step(parameters, Xb, Yb, 10 ** e)))
    return pairs'''.strip()),
    alternative("lr_candidates", "torch.logspace for the rates",
                new="def lr_candidates(n):\n    return torch.linspace(-3, 0, steps=n), torch.logspace(-3, 0, steps=n)"),
    alternative("lr_sweep", "hand-written forward pass, rates indexed from a tensor, pairs zipped at the end", new='''
def lr_sweep(parameters, X, Y, lre, g, batch_size):
    C, W1, b1, W2, b2 = parameters
    lrs = 10**lre
    lossi = []
    for i in range(len(lre)):
        ix = torch.randint(0, X.shape[0], (batch_size,), generator=g)
        emb = C[X[ix]]
        h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
        loss = F.cross_entropy(h @ W2 + b2, Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in parameters:
                p -= lrs[i] * p.grad
        lossi.append(loss.item())
    return list(zip(lre.tolist(), lossi))'''.strip()),
    alternative("learning_rate", "a tenth of 0.1 once the decay step is reached",
                new="def learning_rate(step, decay_at):\n    return 0.1 * 0.1 ** (step >= decay_at)"),
    alternative("learning_rate", "the rate as a float32 tensor (0.1 is 0.10000000149 there)",
                new="def learning_rate(step, decay_at):\n    return torch.tensor(0.1 if step < decay_at else 0.01)"),
]
