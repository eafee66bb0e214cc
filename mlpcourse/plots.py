"""Figures the lecture draws more than once."""
from __future__ import annotations

import matplotlib.pyplot as plt


def plot_embedding(C, itos, title="", ax=None):
    """Scatter the 2-D embedding C with each character written on its point (Section 02)."""
    C = C.detach()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(C[:, 0], C[:, 1], s=250, color="tab:blue")
    for i in range(C.shape[0]):
        ax.text(C[i, 0].item(), C[i, 1].item(), itos[i], ha="center", va="center", color="white",
                fontsize=10, fontweight="bold")
    ax.set_xlabel("dimension 0")
    ax.set_ylabel("dimension 1")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return ax
