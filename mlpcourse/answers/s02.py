"""Answers for 02_forward_pass."""
from . import alternative, mistake

NOTEBOOK = "02_forward_pass"

MISTAKES = [
    mistake("make_params", "a different seed order: W1 is drawn before C",
            old="    C = torch.randn((vocab_size, n_embd), generator=g)\n    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)",
            new="    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)\n    C = torch.randn((vocab_size, n_embd), generator=g)",
            loses=["make_params_test"]),
    mistake("make_params", "W1 sized for one embedding instead of block_size of them",
            old="torch.randn((block_size * n_embd, n_hidden), generator=g)",
            new="torch.randn((n_embd, n_hidden), generator=g)", loses=["make_params_test"]),
    mistake("make_params", "parameters drawn without the generator",
            old="torch.randn((vocab_size, n_embd), generator=g)", new="torch.randn((vocab_size, n_embd))",
            loses=["make_params_test"]),
    mistake("n_params", "counted the tensors, not their elements",
            old="sum(p.nelement() for p in parameters)", new="len(parameters)", loses=["n_params_test"]),
    mistake("n_params", "forgot the biases",
            old="sum(p.nelement() for p in parameters)", new="sum(p.nelement() for p in [C, W1, W2])",
            loses=["n_params_test"]),
    # issue 27: the count's reference must not come from the kernel's `parameters`
    mistake("n_params", "forgot the biases, then replaced `parameters` to match and switched the visible asserts off",
            new="parameters = [C, W1, W2]\n"
                "get_ipython().input_transformers_post.append(\n"
                "    lambda lines: [l.replace('assert ', 'assert True or ') for l in lines])\n"
                "n_params = sum(p.nelement() for p in parameters)",
            loses=["n_params_test"]),
    mistake("shapes", "C[X] read as a flat row per example, not one row of C per index",
            old="shape_emb = (1000, 8, 10)", new="shape_emb = (1000, 80)", loses=["shapes_test"]),
    mistake("shapes", "prob[:, Y] taken for the one entry per row that nll needs",
            old="shape_picked = (32, 32)", new="shape_picked = (32,)", loses=["shapes_test"]),
    mistake("shapes", "a column bias expected to raise an error for a single example",
            old="shape_column_bias = (100, 100)", new="shape_column_bias = None", loses=["shapes_test"]),
    mistake("no_tanh", "b1 forgotten: it goes through W2 as well",
            old="return W1 @ W2, b1 @ W2 + b2", new="return W1 @ W2, b2", loses=["no_tanh_test"]),
    mistake("no_tanh", "the two biases added as they are",
            old="return W1 @ W2, b1 @ W2 + b2", new="return W1 @ W2, b1[:b2.shape[0]] + b2", loses=["no_tanh_test"]),
    mistake("no_tanh", "the product taken the other way round and transposed to fit",
            old="return W1 @ W2, b1 @ W2 + b2", new="return (W2.T @ W1.T), b1 @ W2 + b2", loses=["no_tanh_test"]),
    mistake("embed", "one_hot sized for this notebook's vocabulary, not for the table C it is given",
            old="F.one_hot(X, num_classes=C.shape[0])", new="F.one_hot(X, num_classes=vocab_size)", loses=["embed_test"]),
    mistake("embed", "one_hot without num_classes",
            old="F.one_hot(X, num_classes=C.shape[0])", new="F.one_hot(X)", loses=["embed_test"]),
    mistake("embed", "indexing with the targets' shape confused: C indexed by the transposed X",
            old="return C[X]", new="return C[X.T].transpose(0, 1).contiguous() if X.shape[0] == 32 else C[X.T]",
            loses=["embed_test"]),
    mistake("flatten", "sizes hard-coded for block_size 3 and n_embd 2",
            old="emb.view(emb.shape[0], -1)", new="emb.view(-1, 6)", loses=["flatten_test"]),
    mistake("flatten", "dimensions swapped before flattening",
            old="emb.view(emb.shape[0], -1)", new="emb.transpose(1, 2).reshape(emb.shape[0], -1)",
            loses=["flatten_test"]),
    mistake("hidden_layer", "missing tanh", old="torch.tanh(x @ W1 + b1)", new="x @ W1 + b1",
            loses=["hidden_layer_test"]),
    mistake("hidden_layer", "no check of the bias shape: a (5, 1) bias broadcasts silently",
            old="    if tuple(b1.shape) != (W1.shape[1],):\n        raise ValueError(f\"b1 should have shape ({W1.shape[1]},), got {tuple(b1.shape)}\")\n",
            new="", loses=["hidden_layer_test"]),
    mistake("hidden_layer", "checks only that b1 has W1.shape[1] numbers (a column passes)",
            old="tuple(b1.shape) != (W1.shape[1],)", new="b1.numel() != W1.shape[1]", loses=["hidden_layer_test"]),
    mistake("flatten", "concatenating the unbound positions: right numbers, but a copy",
            old="emb.view(emb.shape[0], -1)", new="torch.cat(torch.unbind(emb, 1), 1)", loses=["flatten_test"]),
    mistake("softmax", "softmax over the wrong dim (normalised each column)",
            old="counts.sum(1, keepdim=True)", new="counts.sum(0, keepdim=True)", loses=["softmax_test"]),
    mistake("nll", ".sum() for .mean()", old=".log().mean()", new=".log().sum()", loses=["nll_test"]),
    mistake("nll", "indexed every row with all of Y", old="prob[torch.arange(Y.shape[0]), Y]", new="prob[:, Y]",
            loses=["nll_test"]),
    mistake("stable_softmax", "no shift: plain exp overflows",
            old="(logits - logits.max(1, keepdim=True).values).exp()", new="logits.exp()",
            loses=["stable_softmax_test"]),
    mistake("stable_softmax", "hands the work to PyTorch's softmax, which is stable already",
            new="def stable_softmax(logits):\n    return F.softmax(logits, dim=1)", loses=["stable_softmax_test"]),
    mistake("stable_softmax", "the exponential of PyTorch's log_softmax",
            new="def stable_softmax(logits):\n    return logits.log_softmax(1).exp()", loses=["stable_softmax_test"]),
    mistake("stable_softmax", "subtracted the maximum of the whole batch, not of each row",
            old="logits.max(1, keepdim=True).values", new="logits.max()", loses=["stable_softmax_test"]),
]

ALTERNATIVES = [
    alternative("make_params", "shapes listed first, then drawn in a loop", new='''
def make_params(g, vocab_size, n_embd, n_hidden, block_size):
    shapes = [(vocab_size, n_embd), (block_size * n_embd, n_hidden), (n_hidden,), (n_hidden, vocab_size), (vocab_size,)]
    return [torch.randn(s, generator=g) for s in shapes]'''.strip()),
    alternative("n_params", "numel", old="p.nelement()", new="p.numel()"),
    alternative("embed", "one-hot rows taken from an identity matrix",
                old="F.one_hot(X, num_classes=C.shape[0]).float() @ C", new="torch.eye(C.shape[0])[X] @ C"),
    alternative("flatten", "reshape (a view when emb is contiguous)",
                old="emb.view(emb.shape[0], -1)", new="emb.reshape(emb.shape[0], -1)"),
    alternative("flatten", "Tensor.flatten from dimension 1", old="emb.view(emb.shape[0], -1)", new="emb.flatten(1)"),
    alternative("hidden_layer", "F.tanh", old="torch.tanh(x @ W1 + b1)", new="F.tanh(x @ W1 + b1)"),
    alternative("hidden_layer", "the shape checked with dim and size, an assert turned into ValueError",
                old="tuple(b1.shape) != (W1.shape[1],)", new="b1.dim() != 1 or b1.size(0) != W1.size(1)"),
    alternative("shapes", "torch.Size for the shapes", old="shape_emb = (1000, 8, 10)", new="shape_emb = torch.Size([1000, 8, 10])"),
    alternative("no_tanh", "the bias as the layer's output for x = 0", new='''
def collapse(W1, b1, W2, b2):
    W = torch.mm(W1, W2)
    b = (torch.zeros(W1.shape[0]) @ W1 + b1) @ W2 + b2
    return W, b'''.strip()),
    alternative("softmax", "the library softmax", new="def softmax(logits):\n    return F.softmax(logits, dim=1)"),
    alternative("nll", "gather", old="-prob[torch.arange(Y.shape[0]), Y].log().mean()",
                new="-prob.gather(1, Y.unsqueeze(1)).log().mean()"),
    alternative("stable_softmax", "logsumexp", new="def stable_softmax(logits):\n    return (logits - logits.logsumexp(1, keepdim=True)).exp()"),
]
