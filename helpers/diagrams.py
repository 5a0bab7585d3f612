"""The course's pictures of ideas (not of results): drawn with matplotlib, shown with their alt text.

Each function draws one diagram and returns a `Diagram`: the figure and a sentence that says what it shows. In a
notebook, `show(diagram)` displays the picture with that sentence as its text fallback, which is what GitHub,
nbval and screen readers get instead of the pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

SERVER, CLIENT, STEP, NOTE = "#dbe9f6", "#e6f4e1", "#fff2cc", "#f4f4f4"


@dataclass(frozen=True)
class Diagram:
    """A drawn figure and the alt text that says in words what it shows."""

    figure: plt.Figure
    alt: str


def _box(ax: plt.Axes, x: float, y: float, w: float, h: float, text: str, color: str, size: float = 9.5, **kw) -> None:
    """A rounded box centred at (x, y), with `text` inside."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=color,
            edgecolor="#555555",
            linewidth=1.0,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=size, **kw)


def _arrow(
    ax: plt.Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    label: str = "",
    color: str = "#333333",
    offset: tuple[float, float] = (0.0, 0.0),
    size: float = 8.5,
) -> None:
    """An arrow from `start` to `end`, labelled at its middle (moved by `offset`)."""
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=color, lw=1.3, shrinkA=2, shrinkB=2))
    if label:
        ax.text(
            (start[0] + end[0]) / 2 + offset[0],
            (start[1] + end[1]) / 2 + offset[1],
            label,
            ha="center",
            va="center",
            fontsize=size,
            color=color,
        )


def _canvas(width: float, height: float) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


def fedavg_round() -> Diagram:
    """One round of federated averaging, left to right: the placement of every value and the TFF call that moves it."""
    fig, ax = _canvas(12.0, 7.0)
    blue, green, grey = "#1f5fa8", "#2e7d32", "#9a9a9a"
    steps = [  # numbered in reading order, each above the part of the picture it describes
        (1.5, "1. sample a cohort\n(in Python)"),
        (3.7, "2. broadcast $w_t$\nfederated_broadcast"),
        (6.0, "3. train locally (federated_map)\non tff.CLIENTS: data stay there"),
        (8.25, "4. upload only\n$\\Delta_t^k$ and $n_k$"),
        (10.5, "5. aggregate and update\nfederated_mean, weighted by $n_k$"),
    ]
    for (x, text), color in zip(steps, ("#333333", blue, "#333333", green, "#333333")):
        ax.text(x, 6.4, text, ha="center", va="center", fontsize=8.5, fontweight="bold", color=color)
    _box(
        ax,
        1.5,
        3.4,
        2.5,
        2.2,
        "SERVER\n(tff.SERVER)\nglobal model $w_t$\n\npicks clients_per_round\nclients at random",
        SERVER,
        size=8.5,
    )
    _box(
        ax,
        10.5,
        3.4,
        2.7,
        2.2,
        "SERVER (tff.SERVER)\n"
        r"$\overline{\Delta} = \sum_k n_k \Delta_t^k \,/\, \sum_k n_k$"
        "\n"
        r"$w_{t+1} = w_t - \eta_s\,\overline{\Delta}$"
        "\n(server optimizer, rate $\\eta_s$)",
        SERVER,
        size=8.5,
    )
    cohort = (5.35, 3.4, 1.45)
    for k, y in enumerate(cohort, start=1):
        name = "client $k$" if k == len(cohort) else f"client {k}"
        _box(
            ax,
            6.0,
            y,
            2.6,
            0.95,
            f"{name} of the cohort: its own data\n$E$ epochs of SGD at rate $\\eta_c$\n"
            r"from $w_t$ to $w_t^k$; $\Delta_t^k = w_t - w_t^k$",
            CLIENT,
            size=8,
        )
        _arrow(ax, (2.75, 3.4), (4.7, y), color=blue)
        _arrow(ax, (7.3, y), (9.15, 3.4), color=green)
    for y in (4.375, 2.425):
        ax.add_patch(
            FancyBboxPatch(
                (4.95, y - 0.28),
                2.1,
                0.56,
                boxstyle="round,pad=0.02,rounding_size=0.08",
                facecolor="#f2f2f2",
                edgecolor=grey,
                linestyle="--",
                linewidth=1.0,
            )
        )
        ax.text(6.0, y, "client not sampled:\nsits this round out", ha="center", va="center", fontsize=7.5, color=grey)
    # the loop: w_{t+1} becomes the next round's w_t
    ax.plot([10.5, 10.5, 1.5], [2.3, 0.45, 0.45], color="#555555", lw=1.3)
    ax.annotate(
        "", xy=(1.5, 2.3), xytext=(1.5, 0.45), arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.3, shrinkA=0)
    )
    ax.text(
        6.0,
        0.45,
        "repeat for num_rounds: $w_{t+1}$ is the next round's $w_t$, with a new cohort",
        ha="center",
        va="center",
        fontsize=8.5,
        bbox=dict(facecolor="white", edgecolor="none", pad=2),
    )
    fig.tight_layout()
    alt = (
        "One round of FedAvg, left to right, in five numbered steps. 1: the server (tff.SERVER), holding the global "
        "model w_t, samples a cohort of clients_per_round clients; the others, drawn greyed, sit this round out. 2: it "
        "broadcasts w_t to the cohort (federated_broadcast). 3: each cohort client (tff.CLIENTS) trains E epochs of "
        "SGD at rate eta_c on its own data, from w_t to w_t^k (federated_map). 4: it uploads only its model update "
        "Delta_t^k = w_t - w_t^k and its example count n_k. 5: the server takes their example-weighted mean "
        "(federated_mean) and subtracts it times eta_s to get w_{t+1}. A loop arrow says to repeat for num_rounds, "
        "each round with a new cohort."
    )
    return Diagram(fig, alt)


def aggregator_stack() -> Diagram:
    """TFF's aggregator factories as nested layers: zeroing, clipping, DP noise and a secure sum, outside in."""
    fig, ax = _canvas(9.0, 4.6)
    layers = [
        ("zeroing_factory: drop any update with a coordinate above a bound (L$\\infty$)", "#fde2e2"),
        ("clipping_factory: scale every update to L2 norm at most $C$", "#fff2cc"),
        ("DifferentiallyPrivateFactory: clip on the client, add $\\mathcal{N}(0, z^2C^2)$ to the sum", "#e8e0f4"),
        ("SecureSumFactory: sum integers mod $2^b$; the server sees only the total", "#dbe9f6"),
    ]
    for depth, (text, color) in enumerate(layers):
        pad = 0.32 * depth
        ax.add_patch(
            FancyBboxPatch(
                (0.3 + pad, 0.35 + pad),
                6.4 - 2 * pad,
                3.9 - 2 * pad,
                boxstyle="round,pad=0.02,rounding_size=0.1",
                facecolor=color,
                edgecolor="#555555",
            )
        )
        ax.text(0.45 + pad, 4.1 - pad, text, fontsize=8.5, va="center")
    _box(ax, 3.5, 2.3, 2.1, 0.7, "sum of the\ncohort's updates", NOTE, size=8.5)
    _arrow(ax, (8.6, 3.7), (6.75, 3.7), "client\nupdates", offset=(0.0, 0.35))
    _arrow(ax, (6.75, 1.0), (8.6, 1.0), "mean update\nto the server", offset=(0.0, 0.35))
    ax.text(
        7.7,
        2.35,
        "an update passes\nevery layer on its\nway in, outside in;\neach layer wraps\nthe factory inside it",
        fontsize=8,
        ha="center",
        va="center",
        color="#444444",
    )
    fig.tight_layout()
    alt = (
        "TFF's aggregators as nested layers. Outermost, zeroing drops an update with an extreme coordinate; inside "
        "it, clipping bounds each update's L2 norm to C; inside that, the DP factory adds Gaussian noise of standard "
        "deviation z times C to the sum; innermost, a secure sum reveals only the cohort's total. Client updates "
        "enter from outside, and the mean update leaves for the server."
    )
    return Diagram(fig, alt)


def who_sees_what() -> Diagram:
    """Who can learn what about one client's data, without a defence and under each of three."""
    defences = [
        "no defence",
        "secure\naggregation",
        "central DP\n(server adds noise)",
        "distributed DP\n(noise inside\nsecure sum)",
    ]
    observers = [
        "the server\n(each round)",
        "other clients\n(the models sent\nto them)",
        "anyone with the\nreleased model",
    ]
    cells = [  # (what the observer sees, protected?) per observer row, defence column
        [("each client's\nupdate", 0), ("only the cohort's\nsum", 1), ("each client's\nupdate", 0), ("a noisy sum", 2)],
        [("the models", 0), ("the models", 0), ("noisy models:\nbounded by ε", 2), ("noisy models:\nbounded by ε", 2)],
        [
            ("the final\nmodel", 0),
            ("the final\nmodel", 0),
            ("a noisy model:\nbounded by ε", 2),
            ("a noisy model:\nbounded by ε", 2),
        ],
    ]
    colors = {0: "#f8d0d0", 1: "#fff2cc", 2: "#d5ecd4"}
    fig, ax = _canvas(9.0, 4.3)
    for j, name in enumerate(defences):
        ax.text(2.75 + 1.6 * j, 3.85, name, ha="center", va="center", fontsize=8.5, fontweight="bold")
    for i, (observer, row) in enumerate(zip(observers, cells)):
        y = 2.95 - 1.0 * i
        ax.text(0.95, y, observer, ha="center", va="center", fontsize=8.5, fontweight="bold")
        for j, (text, level) in enumerate(row):
            _box(ax, 2.75 + 1.6 * j, y, 1.5, 0.85, text, colors[level], size=8)
    for k, (level, meaning) in enumerate(
        ((0, "sees it exactly"), (1, "sees less, but no guarantee"), (2, "guarantee: bounded by ε"))
    ):
        ax.add_patch(
            FancyBboxPatch(
                (1.3 + 2.6 * k, 0.18),
                0.3,
                0.22,
                boxstyle="round,pad=0.01",
                facecolor=colors[level],
                edgecolor="#555555",
            )
        )
        ax.text(1.7 + 2.6 * k, 0.29, meaning, va="center", fontsize=8)
    fig.tight_layout()
    alt = (
        "A grid of who sees what. Without a defence the server sees each client's update, and other clients and "
        "anyone with the released model see the models. Secure aggregation shows the server only the cohort's sum, "
        "with no guarantee, and changes nothing for the others. Central DP bounds what other clients and model users "
        "learn by epsilon, but the server still sees each update. Distributed DP bounds all three by epsilon."
    )
    return Diagram(fig, alt)


def learning_process_blocks() -> Diagram:
    """The four blocks that `compose_learning_process` joins into one round, and what flows between them."""
    fig, ax = _canvas(10.0, 4.4)
    blocks = [
        (1.25, "distributor\n(DistributionProcess)\nsends $w_t$ to\nthe cohort", SERVER),
        (3.75, "client work\n(ClientWorkProcess)\nlocal training:\nupdate $\\Delta_k$, weight $n_k$", CLIENT),
        (6.25, "aggregator\n(AggregationProcess)\ncombines the\nupdates into one", STEP),
        (8.75, "finalizer\n(FinalizerProcess)\nthe server's optimizer\nstep gives $w_{t+1}$", SERVER),
    ]
    for x, text, color in blocks:
        _box(ax, x, 2.4, 2.1, 1.5, text, color, size=8.5)
    for (x0, _, _), (x1, _, _), label in zip(
        blocks, blocks[1:], ("$w_t$@CLIENTS", "$\\Delta_k, n_k$@CLIENTS", "$\\overline{\\Delta}$@SERVER")
    ):
        _arrow(ax, (x0 + 1.05, 2.4), (x1 - 1.05, 2.4), label, offset=(0.0, 0.95), size=8)
    ax.text(
        5.0, 4.15, "LearningProcess.next(state, client data): one round", ha="center", fontsize=9.5, fontweight="bold"
    )
    ax.text(
        5.0,
        0.75,
        "state = (global_model_weights, distributor, client_work, aggregator, finalizer): each block keeps "
        "its own state\n(for FedAvg with SGD: the client and server learning rates; the others are empty)",
        ha="center",
        fontsize=8.5,
    )
    fig.tight_layout()
    alt = (
        "The four blocks of a TFF learning process, left to right: the distributor sends the global model w_t to "
        "the cohort; the client work trains locally and returns each client's update Delta_k and weight n_k; the "
        "aggregator combines the updates into one mean update on the server; the finalizer applies it with the "
        "server's optimizer to give w_{t+1}. The process state holds the global model weights and one state per "
        "block."
    )
    return Diagram(fig, alt)


def show(diagram: Diagram) -> None:
    """Display a diagram as a PNG whose text fallback is its alt text (what GitHub, nbval and screen readers get)."""
    from IPython.display import display

    buffer = io.BytesIO()
    diagram.figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(diagram.figure)
    display({"image/png": buffer.getvalue(), "text/plain": diagram.alt}, raw=True)
