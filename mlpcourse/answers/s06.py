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
    mistake("capacity_forward", "flattening hard-coded for 2-D embeddings and a context of 3 (view(-1, 6))",
            old="emb.view(emb.shape[0], -1)", new="emb.view(-1, 6)", loses=["capacity_forward_test"]),
    mistake("capacity_forward", "flattening sized from the notebook's globals instead of the tensors",
            old="emb.view(emb.shape[0], -1)", new="emb.view(-1, block_size * 10)",
            loses=["capacity_forward_test"]),
    mistake("capacity_forward", "the tanh nonlinearity is missing",
            old="h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)",
            new="h = emb.view(emb.shape[0], -1) @ W1 + b1", loses=["capacity_forward_test"]),
    mistake("capacity_forward", "returns probabilities (softmax) instead of logits",
            old="return logits", new="return F.softmax(logits, dim=1)", loses=["capacity_forward_test"]),
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
    alternative("capacity_forward", "the context positions concatenated with torch.cat", new='''
def forward(parameters, X):
    C, W1, b1, W2, b2 = parameters
    emb = C[X]
    flat = torch.cat([emb[:, t, :] for t in range(emb.shape[1])], dim=1)
    h = (flat @ W1 + b1).tanh()
    return h @ W2 + b2
'''.strip()),
    alternative("capacity_forward", "flattened with view(-1, W1.shape[0])",
                old="emb.view(emb.shape[0], -1)", new="emb.view(-1, W1.shape[0])"),
]
