"""Answers for 06_capacity."""
from . import alternative, mistake

NOTEBOOK = "06_capacity"

MISTAKES = [
    mistake("capacity_n_params", "the biases b1 and b2 are not counted",
            old="return n_C + n_layer1 + n_layer2",
            new="return n_C + block_size * n_embd * n_hidden + n_hidden * vocab_size",
            loses=["capacity_n_params_test"]),
    mistake("capacity_n_params", "W1 sized for one character instead of the whole context",
            old="n_layer1 = block_size * n_embd * n_hidden + n_hidden",
            new="n_layer1 = n_embd * n_hidden + n_hidden", loses=["capacity_n_params_test"]),
    mistake("capacity_n_params", "the embedding table C is forgotten",
            old="return n_C + n_layer1 + n_layer2", new="return n_layer1 + n_layer2",
            loses=["capacity_n_params_test"]),
    mistake("capacity_budget", "rounds to the nearest n_hidden instead of down (over budget)",
            old="return (budget - fixed) // per_neuron", new="return round((budget - fixed) / per_neuron)",
            loses=["capacity_budget_test"]),
    mistake("capacity_budget", "forgets that each neuron has a bias in b1",
            old="per_neuron = block_size * n_embd + 1 + vocab_size", new="per_neuron = block_size * n_embd + vocab_size",
            loses=["capacity_budget_test"]),
    mistake("capacity_budget", "leaves C and b2 out of the budget",
            old="return (budget - fixed) // per_neuron", new="return budget // per_neuron",
            loses=["capacity_budget_test"]),
    mistake("capacity_budget", "returns a float",
            old="return (budget - fixed) // per_neuron", new="return float((budget - fixed) // per_neuron)",
            loses=["capacity_budget_test"]),
    mistake("wide_run", "run 1 never measures the dev loss after its last step",
            old="    dev_steps.append(start + n - 1)  # the dev loss after this segment's last step\n"
                "    dev_lossi.append(math.log10(makemore.split_loss(parameters, Xdev, Ydev)))\n",
            new="    if start + n < max_steps:\n        dev_steps.append(start + n - 1)\n"
                "        dev_lossi.append(math.log10(makemore.split_loss(parameters, Xdev, Ydev)))\n",
            loses=["wide_run_test"]),
    mistake("wide_run", "run 1 records the dev loss itself, not its log10",
            old="dev_lossi.append(math.log10(makemore.split_loss(parameters, Xdev, Ydev)))",
            new="dev_lossi.append(makemore.split_loss(parameters, Xdev, Ydev))", loses=["wide_run_test"]),
    mistake("wide_run", "run 1 trains a fresh network of the lecture's 100 neurons instead of the 300 drawn above",
            old="lossi, dev_steps, dev_lossi = [], [], []\n",
            new="lossi, dev_steps, dev_lossi = [], [], []\nparameters = makemore.make_params(g, vocab_size, 2, 100, block_size)\n",
            loses=["wide_run_test"]),
    mistake("wide_run", "run 1 measures the training loss and calls it dev",
            old="dev_lossi.append(math.log10(makemore.split_loss(parameters, Xdev, Ydev)))",
            new="dev_lossi.append(math.log10(makemore.split_loss(parameters, Xtr[:20_000], Ytr[:20_000])))",
            loses=["wide_run_test"]),
    mistake("wide_run", "run 1 keeps the raw minibatch losses in lossi, not their log10",
            old="print(f'{len(lossi):,} steps in", new="lossi = [10 ** _v for _v in lossi]\nprint(f'{len(lossi):,} steps in",
            loses=["wide_run_test"]),
    mistake("embd_run", "run 2 only evaluates, never trains (a learning rate of 0)",
            old="lambda j: 0.1 if start + j < decay_step else 0.01", new="lambda j: 0.0", loses=["embd_run_test"]),
    mistake("embd_run", "run 2 keeps one entry of lossi per segment instead of per step",
            old="    lossi += makemore.train_mlp(", new="    lossi.append(0.0)\n    _seg = makemore.train_mlp(",
            loses=["embd_run_test"]),
]

ALTERNATIVES = [
    alternative("capacity_n_params", "shapes listed and multiplied out", new='''
def n_params_for(n_embd, n_hidden, block_size, vocab_size):
    shapes = [(vocab_size, n_embd), (block_size * n_embd, n_hidden), (n_hidden, 1),
              (n_hidden, vocab_size), (vocab_size, 1)]
    return sum(a * b for a, b in shapes)
'''.strip()),
    alternative("capacity_n_params", "the reference tensors built and counted",
                new="def n_params_for(n_embd, n_hidden, block_size, vocab_size):\n"
                    "    ps = makemore.make_params(torch.Generator().manual_seed(0), vocab_size, n_embd, n_hidden, block_size)\n"
                    "    return sum(p.nelement() for p in ps)"),
    alternative("capacity_budget", "counts up with the formula until the budget is exceeded", new='''
def n_hidden_for(n_embd, budget, block_size, vocab_size):
    n = 0
    while vocab_size * n_embd + (n + 1) * (block_size * n_embd + 1 + vocab_size) + vocab_size <= budget:
        n += 1
    return n
'''.strip()),
    alternative("wide_run", "run 1 as its own loop, the dev loss measured at every dev_every-th step and the last", new='''
C, W1, b1, W2, b2 = parameters
for p in parameters:
    p.requires_grad = True
lossi, dev_steps, dev_lossi = [], [], []
dev_every = max(max_steps // dev_evals, 1)
for i in range(max_steps):
    ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
    h = torch.tanh(C[Xtr[ix]].view(-1, W1.shape[0]) @ W1 + b1)
    loss = F.cross_entropy(h @ W2 + b2, Ytr[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.1 if i < decay_step else 0.01
    with torch.no_grad():
        for p in parameters:
            p -= lr * p.grad
    lossi.append(loss.log10().item())
    if i % dev_every == 0 or i == max_steps - 1:
        with torch.no_grad():
            dev_steps.append(i)
            dev_lossi.append(F.cross_entropy(makemore.forward(parameters, Xdev), Ydev).log10().item())
'''.strip()),
]
