"""The figures every section's makemore.py can draw, used more than once in the notebooks.

mlpcourse.library copies this text into each section's makemore.py, after the code of the earlier
sections. It holds no graded function.
"""
# --- figures ------------------------------------------------------------------------------

def plot_embedding(C, itos, title="", ax=None):
    """Scatter a 2-D embedding C, each character written on its point."""
    import matplotlib.pyplot as plt

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


def plot_activations(hpreact, h, title="", threshold=0.99):
    """Histograms of hpreact and h (50 bins), and the map of |h| > threshold, side by side. It draws the
    saturated units but does not count them: that count is 08's Part E."""
    import matplotlib.pyplot as plt

    hpreact, h = hpreact.detach(), h.detach()
    saturated = h.abs() > threshold
    fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(16, 4))
    ax0.hist(hpreact.view(-1).tolist(), bins=50, color="tab:blue")
    ax0.set_title(f"pre-activations hpreact: std {hpreact.std().item():.2f}")
    ax0.set_xlabel("value")
    ax0.set_ylabel("count")
    ax1.hist(h.view(-1).tolist(), bins=50, color="tab:orange")
    ax1.set_title("h = tanh(hpreact)")
    ax1.set_xlabel("value")
    ax2.imshow(saturated, cmap="gray", interpolation="nearest", aspect="auto", vmin=0, vmax=1)
    ax2.set_title(f"white: |h| > {threshold}")
    ax2.set_xlabel("hidden neuron")
    ax2.set_ylabel("example of the minibatch")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
