"""Plots used across the notebooks, and the progress bar of their round loops."""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping, Optional, Sequence, TypeVar

import matplotlib.pyplot as plt
import numpy as np
import tensorflow_federated as tff
from matplotlib.ticker import EngFormatter, MaxNLocator

T = TypeVar("T")


def plot_client_digits(
    client_data: tff.simulation.datasets.ClientData, client_ids: Sequence[str], per_client: int = 10
) -> plt.Figure:
    """Show the first `per_client` digits of each client, one row per client, as stored (1.0 = background)."""
    fig, axes = plt.subplots(len(client_ids), per_client, figsize=(per_client * 0.9, len(client_ids) * 1.1))
    axes = np.atleast_2d(axes)
    for row, client_id in zip(axes, client_ids):
        examples = list(client_data.create_tf_dataset_for_client(client_id).take(per_client))
        for ax, example in zip(row, examples):
            ax.imshow(example["pixels"].numpy(), cmap="gray", vmin=0.0, vmax=1.0)
            ax.set_title(str(int(example["label"])), fontsize=9)
        for ax in row:
            ax.axis("off")
        row[0].text(-4, 14, client_id, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


def plot_history(
    history: Mapping[str, Sequence[float]], x: str = "round", title: str = "training metrics"
) -> plt.Figure:
    """Plot every non-`x` column of a history (e.g. loss and accuracy) against `x`, one panel each."""
    names = [k for k in history if k != x]
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot(history[x], history[name], marker=".")
        ax.set_xlabel(x)
        ax.set_ylabel(name.replace("_", " "))
        ax.set_title(f"{name.replace('_', ' ')} by {x}")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_examples_per_client(counts: np.ndarray, ax: Optional[plt.Axes] = None, title: str = "") -> plt.Axes:
    """Histogram of examples per client, from a (clients x labels) count matrix, with the median marked."""
    ax = ax or plt.figure(figsize=(4.5, 3.2)).gca()
    sizes = counts.sum(axis=1)
    ax.hist(sizes, bins=20, color="tab:blue", alpha=0.8)
    median = float(np.median(sizes))
    ax.axvline(median, color="k", linestyle="--", label=f"median {median:.0f}")
    ax.set_xlabel("examples per client")
    ax.set_ylabel("clients")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_label_heatmap(
    counts: np.ndarray,
    ax: Optional[plt.Axes] = None,
    title: str = "",
    max_clients: int = 40,
    vmax: Optional[float] = None,
    mark_empty: bool = True,
) -> plt.Axes:
    """Heatmap of each client's label shares (rows: the first `max_clients` clients, columns: labels).

    White is a share of 0 and the darkest blue is `vmax`, by default the largest share shown rounded up to a tenth, so
    that small shares stay pale and the few large ones stand out; pass the same `vmax` to panels that are compared.
    A line on the colour bar marks the even share, 1 / number of labels, where every cell of IID data would sit.
    With `mark_empty`, a grey dot marks each label a client has no example of, which white alone cannot tell apart
    from a small share.
    """
    ax = ax or plt.figure(figsize=(4.5, 5)).gca()
    shown = counts[:max_clients]
    shares = shown / np.maximum(shown.sum(axis=1, keepdims=True), 1)
    if vmax is None:
        vmax = max(float(np.ceil(round(shares.max() * 10, 9)) / 10), 0.1)
    image = ax.imshow(shares, aspect="auto", cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_xticks(range(counts.shape[1]))
    if mark_empty:
        limits = ax.get_xlim(), ax.get_ylim()
        rows, cols = np.nonzero(shown == 0)
        ax.scatter(cols, rows, s=8, color="tab:gray", marker="o", linewidths=0)
        ax.set_xlim(limits[0])
        ax.set_ylim(limits[1])
    ax.set_xlabel("label (dot: the client has none)" if mark_empty else "label")
    ax.set_ylabel(f"client (first {len(shown)})")
    ax.set_title(title)
    colorbar = plt.colorbar(image, ax=ax, label="share of the client's digits")
    even = 1 / counts.shape[1]
    grid = [t for t in np.arange(0, vmax + 1e-9, 0.1) if abs(t - even) > 0.05 * vmax]
    colorbar.set_ticks(
        sorted([*grid, even]), labels=[f"{t:.2g}" + (" (even)" if t == even else "") for t in sorted([*grid, even])]
    )
    colorbar.ax.axhline(even, color="tab:orange", linewidth=2)
    return ax


def plot_runs(
    runs: Mapping[str, Mapping[str, Sequence[float]]],
    x: str = "round",
    y: str = "test_accuracy",
    ax: Optional[plt.Axes] = None,
    title: str = "",
    like: Optional[plt.Axes] = None,
) -> plt.Axes:
    """Plot `y` against `x` for several runs on one axis, skipping rounds where `y` was not measured (NaN).

    Each run gets its own line style and marker as well as colour, so that a curve lying on another stays visible.
    A run already drawn on the axis `like` (by its name) keeps the colour, line style and marker it has there.
    """
    ax = ax or plt.figure(figsize=(5, 3.5)).gca()
    styles = ("-", "--", ":", "-.")
    markers = ("o", "s", "^", "v", "D", "x", "P", "*")
    drawn = {line.get_label(): line for line in like.lines} if like is not None else {}
    measured: set[float] = set()
    for i, (name, history) in enumerate(runs.items()):
        xs, ys = np.asarray(history[x], dtype=float), np.asarray(history[y], dtype=float)
        keep = ~np.isnan(ys)
        measured.update(xs[keep].tolist())
        style = {"linestyle": styles[i % len(styles)], "marker": markers[i % len(markers)]}
        if name in drawn:
            twin = drawn[name]
            style = {"linestyle": twin.get_linestyle(), "marker": twin.get_marker(), "color": twin.get_color()}
        ax.plot(xs[keep], ys[keep], markersize=4, alpha=0.85, label=name, **style)
    ax.set_xlabel("examples processed" if x == "examples" else x)
    if x == "round" and measured:
        # Ticks where `y` was measured (every 5th round, say), not at 6, 9, 12: at most 8 of them, evenly thinned.
        rounds = sorted(measured)
        step = -(-len(rounds) // 8)
        ax.set_xticks(rounds[::step])
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    if x == "examples":
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 250k, not 250000: long labels would run together
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(title or f"{y.replace('_', ' ')} by {'examples processed' if x == 'examples' else x}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_client_accuracy(accuracies: Sequence[float], ax: Optional[plt.Axes] = None, title: str = "") -> plt.Axes:
    """Histogram of per-client accuracies, with the mean and the 10th percentile marked."""
    ax = ax or plt.figure(figsize=(5, 3.3)).gca()
    values = np.asarray(accuracies, dtype=float)
    ax.hist(values, bins=np.linspace(0, 1, 21), color="tab:blue", alpha=0.8)
    ax.axvline(values.mean(), color="k", linestyle="--", label=f"mean {values.mean():.3f}")
    ax.axvline(
        np.percentile(values, 10),
        color="tab:red",
        linestyle=":",
        label=f"10th percentile {np.percentile(values, 10):.3f}",
    )
    ax.set_xlabel("accuracy on the client's test split")
    ax.set_ylabel("clients")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def progress(iterable: Iterable[T], desc: str) -> Iterator[T]:
    """Iterate with tqdm's progress bar (`tqdm.auto`: a widget in Jupyter, text elsewhere) whose saved output shows
    the bar's final state.

    A widget bar's text fallback, what GitHub shows of a saved notebook, is written once, when the bar appears
    ("0/45"). Here the bar is displayed under a display id and updated when the loop ends, so the saved fallback
    reads "45/45" too.
    """
    import tqdm.auto
    from tqdm.notebook import tqdm as notebook_tqdm

    widget = issubclass(tqdm.auto.tqdm, notebook_tqdm)  # the Colab relay and terminals get tqdm's text bar
    bar = tqdm.auto.tqdm(iterable, desc=desc, **({"display": False} if widget else {}))
    handle = None
    if widget:
        from IPython.display import display

        handle = display(bar.container, display_id=True)
    try:
        yield from bar
    finally:
        bar.close()
        if handle is not None:
            handle.update(bar.container)


def plot_prediction_grid(
    images: np.ndarray, labels: Sequence[int], predictions: Sequence[int], columns: int = 8, size: float = 1.4
) -> plt.Figure:
    """Show digits (0 = background) in rows of `columns`, titled "predicted (true)", wrong ones in red and framed."""
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * (size + 0.3) + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label, predicted in zip(axes.flat, images, labels, predictions):
        wrong = int(predicted) != int(label)
        ax.axis("on")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.imshow(np.reshape(image, (28, 28)), cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(f"{predicted} ({label})", fontsize=13, color="tab:red" if wrong else "black")
        for spine in ax.spines.values():
            spine.set_visible(wrong)
            spine.set_color("tab:red")
            spine.set_linewidth(3)
    fig.suptitle("predicted (true label); wrong predictions in red", fontsize=13)
    fig.tight_layout()
    return fig
