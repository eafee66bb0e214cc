"""Answers for 02_forward_pass."""
from . import Alternative, Mistake

NOTEBOOK = "02_forward_pass"

MISTAKES = [
    Mistake("make_params", "a different seed order: W1 is drawn before C",
            old="    C = torch.randn((vocab_size, n_embd), generator=g)\n    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)",
            new="    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)\n    C = torch.randn((vocab_size, n_embd), generator=g)",
            loses=["make_params_test"]),
    Mistake("make_params", "W1 sized for one embedding instead of block_size of them",
            old="torch.randn((block_size * n_embd, n_hidden), generator=g)",
            new="torch.randn((n_embd, n_hidden), generator=g)", loses=["make_params_test"]),
    Mistake("make_params", "parameters drawn without the generator",
            old="torch.randn((vocab_size, n_embd), generator=g)", new="torch.randn((vocab_size, n_embd))",
            loses=["make_params_test"]),
    Mistake("n_params", "counted the tensors, not their elements",
            old="sum(p.nelement() for p in parameters)", new="len(parameters)", loses=["n_params_test"]),
    Mistake("n_params", "forgot the biases",
            old="sum(p.nelement() for p in parameters)", new="sum(p.nelement() for p in [C, W1, W2])",
            loses=["n_params_test"]),
    Mistake("embed", "one_hot without num_classes",
            old="F.one_hot(X, num_classes=C.shape[0])", new="F.one_hot(X)", loses=["embed_test"]),
    Mistake("embed", "indexing with the targets' shape confused: C indexed by the transposed X",
            old="return C[X]", new="return C[X.T].transpose(0, 1).contiguous() if X.shape[0] == 32 else C[X.T]",
            loses=["embed_test"]),
    Mistake("flatten", "sizes hard-coded for block_size 3 and n_embd 2",
            old="emb.view(emb.shape[0], -1)", new="emb.view(-1, 6)", loses=["flatten_test"]),
    Mistake("flatten", "dimensions swapped before flattening",
            old="emb.view(emb.shape[0], -1)", new="emb.transpose(1, 2).reshape(emb.shape[0], -1)",
            loses=["flatten_test"]),
    Mistake("hidden_layer", "missing tanh", old="torch.tanh(x @ W1 + b1)", new="x @ W1 + b1",
            loses=["hidden_layer_test"]),
    Mistake("softmax", "softmax over the wrong dim (normalised each column)",
            old="counts.sum(1, keepdim=True)", new="counts.sum(0, keepdim=True)", loses=["softmax_test"]),
    Mistake("nll", ".sum() for .mean()", old=".log().mean()", new=".log().sum()", loses=["nll_test"]),
    Mistake("nll", "indexed every row with all of Y", old="prob[torch.arange(Y.shape[0]), Y]", new="prob[:, Y]",
            loses=["nll_test"]),
    Mistake("stable_softmax", "no shift: plain exp overflows",
            old="(logits - logits.max(1, keepdim=True).values).exp()", new="logits.exp()",
            loses=["stable_softmax_test"]),
    Mistake("stable_softmax", "subtracted the maximum of the whole batch, not of each row",
            old="logits.max(1, keepdim=True).values", new="logits.max()", loses=["stable_softmax_test"]),
]

ALTERNATIVES = [
    Alternative("make_params", "shapes listed first, then drawn in a loop", new='''
def make_params(g, vocab_size, n_embd, n_hidden, block_size):
    shapes = [(vocab_size, n_embd), (block_size * n_embd, n_hidden), (n_hidden,), (n_hidden, vocab_size), (vocab_size,)]
    return [torch.randn(s, generator=g) for s in shapes]'''.strip()),
    Alternative("n_params", "numel", old="p.nelement()", new="p.numel()"),
    Alternative("embed", "one-hot rows taken from an identity matrix",
                old="F.one_hot(X, num_classes=C.shape[0]).float() @ C", new="torch.eye(C.shape[0])[X] @ C"),
    Alternative("flatten", "concatenating the unbound positions",
                old="emb.view(emb.shape[0], -1)", new="torch.cat(torch.unbind(emb, 1), 1)"),
    Alternative("hidden_layer", "F.tanh", old="torch.tanh(x @ W1 + b1)", new="F.tanh(x @ W1 + b1)"),
    Alternative("softmax", "the library softmax", new="def softmax(logits):\n    return F.softmax(logits, dim=1)"),
    Alternative("nll", "gather", old="-prob[torch.arange(Y.shape[0]), Y].log().mean()",
                new="-prob.gather(1, Y.unsqueeze(1)).log().mean()"),
    Alternative("stable_softmax", "logsumexp", new="def stable_softmax(logits):\n    return (logits - logits.logsumexp(1, keepdim=True)).exp()"),
]
