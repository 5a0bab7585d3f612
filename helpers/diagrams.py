"""The course's pictures of ideas (not of results): drawn with matplotlib, shown with their alt text.

Each function draws one diagram and returns a `Diagram`: the figure and a sentence that says what it shows. In a
notebook, `show(diagram)` displays the picture with that sentence as its text fallback, which is what GitHub,
nbval and screen readers get instead of the pixels.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Circle, FancyBboxPatch

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
    """TFF's three ready-made aggregators, one column each: their layers' steps on the clients, the sum, the server."""
    fig, ax = plt.subplots(figsize=(12.0, 9.9))
    ax.set_xlim(0, 12.0)
    ax.set_ylim(-0.9, 9.0)  # below 0: the key to the symbols
    ax.axis("off")
    zeroing, clipping, mean, secure, private = "#fde2e2", "#fff2cc", "#e6f4e1", "#dbe9f6", "#e8e0f4"
    intrinsic, adapt = "#ffffff", NOTE
    columns = {  # per factory: (client steps outside in, the sum that crosses to the server, server steps inside out)
        "robust_aggregator()": (
            [
                ("zeroing: zero the update if one\ncoordinate exceeds the bound", zeroing),
                ("clipping: scale the update\nto L2 norm at most $C$", clipping),
                ("mean: multiply it by\nits weight $n_k$", mean),
            ],
            ("federated_sum: the server\nsees each update", intrinsic),
            [
                ("mean: divide the sum\nby $\\Sigma_k n_k$", mean),
                (
                    "clipping, zeroing: adapt $C$ and the\nbound for the next round from a\n"
                    "summed count of norms below them",
                    adapt,
                ),
            ],
        ),
        "secure_aggregator()": (
            [
                ("zeroing: zero the update if one\ncoordinate exceeds the bound", zeroing),
                ("clipping: scale the update\nto L2 norm at most $C$", clipping),
                ("mean: multiply it by\nits weight $n_k$", mean),
                ("secure sum: clip each value to\n$[-B, B]$, encode as integers", secure),
            ],
            ("federated_secure_sum_bitwidth:\nthe server sees only the total", intrinsic),
            [
                ("secure sum: decode\nthe integers' total", secure),
                ("mean: divide by $\\Sigma_k n_k$\n(also summed securely)", mean),
                ("clipping, zeroing, secure sum:\nadapt $C$, the bound and $B$ from\nsecurely summed counts", adapt),
            ],
        ),
        "dp_aggregator($z$, $m$)": (
            [
                ("zeroing: zero the update if one\ncoordinate exceeds the bound", zeroing),
                ("DP: scale the update\nto L2 norm at most $C$", private),
            ],
            ("federated_sum: the server\nsees each update", intrinsic),
            [
                ("DP: add noise $\\mathcal{N}(0, z^2C^2 I)$\nto the sum, divide by $m$", private),
                (
                    "DP, zeroing: adapt $C$ (from a noised\ncount) and the bound (from a summed\n"
                    "count) of the norms below them",
                    adapt,
                ),
            ],
        ),
    }
    nesting = (
        "zeroing around clipping around a mean",
        "zeroing around clipping around a\nmean around a secure sum",
        "zeroing around the DP layer\n(notebook 07)",
    )
    xs, width, height, pitch = (3.35, 6.55, 9.75), 2.75, 0.62, 0.86
    client_top, sum_y, server_top = 7.3, 3.75, 2.8
    # the three bands: on each client, crossing the network, on the server
    for y in (4.2, 3.3):
        ax.plot([0.15, 11.85], [y, y], color="#9a9a9a", lw=0.9, ls="--")
    for y, text in (
        (6.0, "on each\nclient\n(tff.CLIENTS)\n\nread down:\nthe outermost\nlayer acts\nfirst"),
        (sum_y, "the sum"),
        (1.85, "on the server\n(tff.SERVER)\n\nread down:\nthe innermost\nlayer finishes\nfirst"),
    ):
        ax.text(0.95, y, text, ha="center", va="center", fontsize=8.5, fontweight="bold", color="#444444")
    for x, (name, (client, total, server)), nests in zip(xs, columns.items(), nesting):
        ax.text(x, 8.75, name, ha="center", va="center", fontsize=10, fontweight="bold", family="monospace")
        ax.text(x, 8.3, nests, ha="center", va="center", fontsize=8, color="#444444")
        steps = [(client_top - pitch * i, text, color) for i, (text, color) in enumerate(client)]
        steps.append((sum_y, *total))
        steps += [(server_top - pitch * i, text, color) for i, (text, color) in enumerate(server)]
        _arrow(ax, (x, 8.0), (x, steps[0][0] + height / 2), color="#555555")
        for (y0, _, _), (y1, _, _) in zip(steps, steps[1:]):
            _arrow(ax, (x, y0 - height / 2), (x, y1 + height / 2), color="#555555")
        for y, text, color in steps:
            _box(ax, x, y, width, height, text, color, size=8 if text.count("\n") < 2 else 7.5)
    legend = (
        (zeroing, "zeroing_factory"),
        (clipping, "clipping_factory"),
        (mean, "MeanFactory"),
        (secure, "SecureSumFactory"),
        (private, "DifferentiallyPrivateFactory"),
        (intrinsic, "TFF's sum across the network"),
        (adapt, "bounds adapted between rounds"),
    )
    for k, (color, name) in enumerate(legend):
        x, y = (0.3 + 2.35 * k, 0.36) if k < 5 else (0.3 + 3.5 * (k - 5), -0.1)
        ax.add_patch(
            FancyBboxPatch((x, y - 0.1), 0.28, 0.2, boxstyle="round,pad=0.01", facecolor=color, edgecolor="#555555")
        )
        ax.text(x + 0.38, y, name, va="center", fontsize=8, family="monospace" if k < 5 else None)
    ax.text(
        0.3,
        -0.62,
        "the bound: the zeroing threshold on an update's largest coordinate;  $C$: the clipping norm;  "
        "$n_k$: client $k$'s number of examples;\n$B$: the range each value is clipped to before the secure sum;  "
        "$z$, $m$: notebook 07's noise multiplier and expected cohort size",
        va="center",
        fontsize=8,
        color="#444444",
    )
    fig.tight_layout()
    alt = (
        "TFF's three ready-made aggregators side by side, each a column read top to bottom: the steps each layer "
        "does on every client, outermost layer first, then the sum that crosses to the server, then the steps on "
        "the server, innermost layer first. robust_aggregator(): zeroing drops an update with a coordinate above its "
        "bound, clipping scales it to L2 norm at most C, the mean multiplies it by its weight n_k, the client's "
        "number of examples; a plain federated_sum, so the server sees each update; the server divides by the sum of "
        "the weights and adapts the bounds for the next round from a summed count of the norms below them. "
        "secure_aggregator(): the same zeroing, clipping and weighting, then the secure sum clips each value to "
        "[-B, B] and encodes it as integers; federated_secure_sum_bitwidth shows the server only the total, which it "
        "decodes and divides by the securely summed weights, and the bounds adapt from securely summed counts. "
        "dp_aggregator(z, m), notebook 07's DP layer: zeroing, then the DP layer clips each update to norm C; after "
        "a plain sum the server adds Gaussian noise N(0, z^2 C^2 I) and divides by m, the expected number of "
        "clients; C adapts from a noised count and the bound from a summed one. Only the secure sum hides single "
        "updates from the "
        "server. A legend names each colour's TFF factory, white for TFF's sum across the network and grey for "
        "bounds adapted between rounds, and a key defines the bound, C, n_k, B, z and m."
    )
    return Diagram(fig, alt)


def dp_clip_and_noise(clip: float = 1.0, noise_multiplier: float = 1.0, clients_per_round: int = 10) -> Diagram:
    """DP-FedAvg's aggregator as `gaussian_fixed` runs it: clip each update, sum, add noise to the sum, divide by m."""
    if clip <= 0 or noise_multiplier < 0 or clients_per_round < 1:
        raise ValueError(
            f"Need clip > 0, noise_multiplier >= 0, clients_per_round >= 1; got {clip}, "
            f"{noise_multiplier}, {clients_per_round}."
        )
    fig, ax = _canvas(12.0, 5.0)
    ax.set_aspect("equal")
    green, purple, grey = "#2e7d32", "#6a3d9a", "#9a9a9a"
    scale = 0.8  # inches per clip norm C: the picture is in units of C
    updates = np.array([(0.55, 0.5), (1.9, 0.75), (0.25, 0.8), (1.6, -0.9), (-0.45, 0.55)])  # in units of C
    norms = np.linalg.norm(updates, axis=1)
    clipped = updates * np.minimum(1.0, 1.0 / norms)[:, None]
    noise = noise_multiplier * np.array([0.75, -0.55])  # one draw of N(0, z^2 C^2 I), in units of C
    cloud = np.random.default_rng(0).standard_normal((400, 2))
    cloud = noise_multiplier * cloud[np.linalg.norm(cloud, axis=1) < 2.0][:150]  # within two stds, to fit
    total = clipped.sum(axis=0)
    titles = (
        (1.5, "1. on each client: clip\nthe update to L2 norm $\\leq C$"),
        (6.2, "2. sum the clipped updates; the server\nadds noise $\\mathcal{N}(0, z^2C^2 I)$ to the sum"),
        (10.6, "3. the server divides by $m$,\nthe expected cohort size"),
    )
    for x, text in titles:
        ax.text(x, 4.6, text, ha="center", va="center", fontsize=9, fontweight="bold")

    def circle(center, radius, **kw) -> None:
        ax.add_patch(Circle(center, radius * scale, fill=False, **kw))

    # 1. clipping, on each client
    o1 = np.array([1.3, 2.0])
    circle(o1, 1.0, edgecolor="#555555", lw=1.0, ls="--")
    ax.plot(*zip(o1, o1 + scale * np.array([-0.6, -0.8])), color="#555555", lw=0.8)
    ax.text(*(o1 + scale * np.array([-0.45, -0.4])), "$C$", fontsize=9, ha="right", va="center")
    for update, short in zip(updates, clipped):
        if np.linalg.norm(update) > 1.0:
            _arrow(ax, tuple(o1), tuple(o1 + scale * update), color=grey)
        _arrow(ax, tuple(o1), tuple(o1 + scale * short), color=green)
    ax.text(
        1.5,
        0.95,
        f"$C$ = {clip:g}: the clip norm, the dashed circle's radius\ngrey: the update as trained; green: what is sent",
        fontsize=8,
        ha="center",
        va="center",
    )
    ax.text(
        1.5,
        0.3,
        f"this round's cohort: {len(updates)} clients drawn here; each client\n"
        f"joins at random, so the size varies around $m$ = {clients_per_round}",
        fontsize=8,
        ha="center",
        va="center",
        color="#444444",
    )
    # 2. the sum, then the noise
    o2 = np.array([4.8, 1.1])
    tip = o2
    for short in clipped[np.argsort(np.arctan2(clipped[:, 1], clipped[:, 0]))[::-1]]:
        _arrow(ax, tuple(tip), tuple(tip + scale * short), color=green)
        tip = tip + scale * short
    ax.scatter(*(tip + scale * cloud).T, s=3, color=purple, alpha=0.25, lw=0)
    circle(tip, noise_multiplier, edgecolor=purple, lw=1.0, ls="--")
    noisy = tip + scale * noise
    _arrow(ax, tuple(o2), tuple(tip), color="#333333")
    _arrow(ax, tuple(tip), tuple(noisy), color=purple)
    _arrow(ax, tuple(o2), tuple(noisy), color=purple)
    ax.text(5.75, 1.95, "sum", fontsize=8.5, ha="right", va="center", color="#333333")
    ax.text(
        *(tip + scale * np.array([1.15, 0.55])),
        f"noise of std $zC$ = {noise_multiplier:g} × {clip:g} = {noise_multiplier * clip:g}\n"
        "in every coordinate; the purple\narrow is one draw, the dots are\nother draws, the dashed circle\n"
        "has radius $zC$",
        fontsize=8,
        va="center",
        color=purple,
    )
    ax.text(6.9, 1.1, "noisy sum", fontsize=8.5, va="center", color=purple)
    ax.text(
        6.2,
        0.3,
        "$z$: the noise multiplier; $I$: the identity matrix,\nso each coordinate gets its own independent noise",
        fontsize=8,
        ha="center",
        va="center",
        color="#444444",
    )
    # 3. divide by the expected cohort size: from the noisy sum's tip to the mean update
    o3 = np.array([10.6, 2.0])
    start = noisy + np.array([0.15, 0.0])
    end = o3 - np.array([scale + 0.1, 0.0])
    _arrow(ax, tuple(start), tuple(end), color="#333333")
    ax.text(
        (start[0] + end[0]) / 2,
        (start[1] + end[1]) / 2 + 0.25,
        f"$\\div\\, m$ = {clients_per_round}",
        fontsize=10,
        ha="center",
        va="center",
    )
    circle(o3, 1.0, edgecolor=grey, lw=1.0, ls=":")
    mean = (total + noise) / clients_per_round
    _arrow(ax, tuple(o3), tuple(o3 + scale * mean), color=purple)
    ax.text(
        10.6,
        0.95,
        "the mean update sent to the server's\noptimizer; the dotted circle is norm $C$",
        fontsize=8,
        ha="center",
        va="center",
    )
    ax.text(
        10.6,
        0.3,
        "divided by $m$, not by the cohort's actual size,\nwhich would reveal how many took part",
        fontsize=8,
        ha="center",
        va="center",
        color="#444444",
    )
    fig.tight_layout()
    alt = (
        f"DP-FedAvg's aggregator in three steps, drawn in two of the model's coordinates in units of the clip norm C "
        f"(here {clip:g}). 1: on each client of this round's cohort (5 clients drawn here; each client joins at "
        f"random, so the size varies around its expected value m = {clients_per_round}), the update is scaled to L2 "
        "norm at most C: the short updates inside the dashed circle of radius C are sent unchanged, the long ones "
        "are shortened onto the circle. 2: the clipped updates are summed, and the server adds Gaussian noise "
        f"N(0, z^2 C^2 I) to the sum: z is the noise multiplier and I the identity matrix, so every coordinate gets "
        f"independent noise of standard deviation z times C = {noise_multiplier:g} × {clip:g} = "
        f"{noise_multiplier * clip:g}. One draw is an arrow, other draws are dots, and a dashed circle of radius zC "
        "marks one standard deviation, so one client's whole contribution is no larger than the noise. 3: an arrow "
        f"from the noisy sum divides it by m = {clients_per_round}, the expected cohort size, not by the actual "
        "count, and the result is the mean update, shorter than any single clipped update."
    )
    return Diagram(fig, alt)


def receptive_field(
    kernel_size: int, dilations: Sequence[int], text: str = "Our revels now are ended. These our actors"
) -> Diagram:
    """Which input characters the last position's prediction sees through stacked causal dilated convolutions."""
    if kernel_size < 1 or not dilations or min(dilations) < 1:
        raise ValueError(f"Need kernel_size >= 1 and dilations >= 1; got {kernel_size}, {list(dilations)}.")
    field = 1 + (kernel_size - 1) * sum(dilations)
    plain = 1 + (kernel_size - 1) * len(dilations)  # the same layers without dilation
    if len(text) < field + 2:
        raise ValueError(f"text must be at least {field + 2} characters long to show a field of {field}.")
    n = len(text)
    fig, ax = _canvas(12.5, 1.6 + 1.05 * len(dilations) + 1.1)
    pitch, left = 11.0 / n, 1.35
    ys = [1.6 + 1.05 * level for level in range(len(dilations) + 1)]  # the input, then each convolution's output
    seen = [{n - 1}]  # the positions each level contributes, from the top down
    for rate in reversed(dilations):
        seen.append({p - rate * j for p in seen[-1] for j in range(kernel_size) if p - rate * j >= 0})
    seen = seen[::-1]
    for level, rate in enumerate(dilations, start=1):  # the taps that feed the last prediction
        for p in seen[level]:
            for j in range(kernel_size):
                q = p - rate * j
                ax.plot(
                    [left + pitch * q, left + pitch * p],
                    [ys[level - 1] + 0.13, ys[level] - 0.13],
                    color="#1f5fa8",
                    lw=0.7,
                    alpha=0.6,
                )
    for level, y in enumerate(ys):
        for p in range(n):
            active = p in seen[level]
            ax.add_patch(
                Circle(
                    (left + pitch * p, y),
                    0.09 if level else 0.0,
                    facecolor="#1f5fa8" if active else "#dddddd",
                    edgecolor="none",
                )
            )
        name = "input\ncharacters" if level == 0 else f"conv {level}\ndilation {dilations[level - 1]}"
        ax.text(0.55, y, name, ha="center", va="center", fontsize=8.5, fontweight="bold")
    for p, char in enumerate(text):
        _box(
            ax,
            left + pitch * p,
            ys[0],
            pitch * 0.86,
            0.32,
            "␣" if char == " " else char,
            CLIENT if p in seen[0] else "#f4f4f4",
            size=9,
            family="monospace",
        )
    ax.text(
        left + pitch * (n - 1) + 0.1,
        ys[-1] + 0.42,
        "the last position: the dense layer turns it into the next character's logits",
        ha="right",
        va="center",
        fontsize=8.5,
    )
    ax.text(
        0.1,
        ys[-1] + 0.42,
        f"kernel size {kernel_size}: each dot combines {kernel_size} positions of the layer below;\n"
        "dilation d: those positions are d apart (d = 1: neighbours);  ␣ marks a space",
        ha="left",
        va="center",
        fontsize=8.5,
    )
    for y, width, label in (
        (
            1.0,
            field,
            f"seen by the last prediction: 1 + ({kernel_size} − 1) × ({' + '.join(map(str, dilations))})"
            f" = {field} characters",
        ),
        (0.4, plain, f"without dilation (all rates 1): 1 + ({kernel_size} − 1) × {len(dilations)} = {plain}"),
    ):
        x0, x1 = left + pitch * (n - width) - pitch * 0.45, left + pitch * (n - 1) + pitch * 0.45
        ax.plot([x0, x0, x1, x1], [y + 0.12, y, y, y + 0.12], color="#333333", lw=1.0)
        ax.text(x0 - 0.1, y, label, ha="right", va="center", fontsize=8.5)
    fig.tight_layout()
    alt = (
        f"Stacked causal convolutions of kernel size {kernel_size} with dilations {', '.join(map(str, dilations))}, "
        f"drawn over the text {text!r} (a space drawn as ␣). The last position's prediction of the next character "
        f"looks at {kernel_size} positions of the layer below, spaced by that layer's dilation (1: neighbours), and "
        f"those at {kernel_size} of theirs, down "
        f"to the input: it sees the last 1 + ({kernel_size} - 1) × ({' + '.join(map(str, dilations))}) = {field} "
        f"characters and none after it. The same layers without dilation would see only {plain}."
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


SPLIT_COLORS = {
    "train": "#4c9a2a",
    "validation": "#f2b134",
    "test": "#d1495b",
    "same clients later": "#2e86ab",
    "new people later": "#7b5ea7",
    "not used": "#d9d9d9",
}


def split_grid(cells: Sequence[Sequence[str]], years: Sequence[int]) -> Diagram:
    """Clients (rows) by years (columns), each cell coloured by the split its record belongs to."""
    names = list(SPLIT_COLORS)
    codes = np.array([[names.index(c) for c in row] for row in cells])
    if codes.shape[1] != len(years):
        raise ValueError(f"{codes.shape[1]} columns of cells for {len(years)} years")
    order = np.lexsort(codes.T[::-1])  # rows grouped by split, training clients first
    codes = codes[order]
    fig, ax = plt.subplots(figsize=(7.6, 3.6))
    cmap = ListedColormap([SPLIT_COLORS[n] for n in names])
    ax.imshow(codes, aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, interpolation="nearest")
    ax.set_xticks(range(len(years)), [str(y) for y in years], rotation=45)
    ax.set_xlabel("year")
    ax.set_ylabel(f"{len(codes)} clients, by split")
    ax.set_yticks([])
    counts = {n: int((codes == i).sum()) for i, n in enumerate(names)}
    shown = [n for n in names if counts[n]]  # the legend names only the kinds of cell the grid has
    handles = [plt.Rectangle((0, 0), 1, 1, color=SPLIT_COLORS[n]) for n in shown]
    ax.legend(handles, [f"{n} ({counts[n]:,} records)" for n in shown], loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Which record goes where: one row per client, one column per year")
    fig.tight_layout()
    clients = {n: int((codes == i).any(axis=1).sum()) for i, n in enumerate(names)}
    alt = (
        f"A grid of {len(codes)} clients by {len(years)} years, {years[0]} to {years[-1]}, each cell one record "
        "coloured by its split. "
        + "; ".join(f"{n}: {counts[n]:,} records of {clients[n]} clients" for n in shown)
        + ". Each client's row belongs to one split of people; training clients' rows are cut by year into training "
        "records and records kept back as the same clients later."
    )
    return Diagram(fig, alt)


def table_to_training() -> Diagram:
    """Notebook 16's path from a table to FedAvg: built once in Python, then client ids in, batches built by TFF."""
    fig, ax = _canvas(11.0, 5.6)
    top, bottom, w, h = 4.35, 1.35, 2.3, 1.05
    xs = (1.4, 4.1, 6.8, 9.55)
    once = [
        ("CSV or DataFrame\ncolumns, one row\nper record", NOTE),
        ("group by client key\nid → that client's\ncolumns", NOTE),
        ("TestClientData\none record per\ndataset element", CLIENT),
        ("SQLite file\nsave_to_sql_client_data\nsplit name per client", STEP),
    ]
    every_round = [
        ("process.next(state, ids)\nFedAvg trains on\nthe clients' batches", SERVER),
        ("client_batches(id)\nx, y; cache;\nrepeat, shuffle, batch", CLIENT),
        ("per-split views\nfrom_clients_and_tf_fn\nrecords by year", CLIENT),
        ("load_and_parse_\nsql_client_data\none client, from disk", STEP),
    ]
    ax.text(0.25, 5.3, "in Python, once", fontsize=9.5, fontweight="bold", ha="left")
    ax.text(
        0.25,
        0.25,
        "set up once in Python; run inside TFF's runtime for each sampled client, every round",
        fontsize=9.5,
        fontweight="bold",
        ha="left",
    )
    for x, (text, color) in zip(xs, once):
        _box(ax, x, top, w, h, text, color, size=8.5)
    for x, (text, color) in zip(xs, every_round):
        _box(ax, x, bottom, w, h, text, color, size=8.5)
    for x0, x1 in zip(xs, xs[1:]):
        _arrow(ax, (x0 + w / 2, top), (x1 - w / 2, top))
        _arrow(ax, (x1 - w / 2, bottom - 0.2), (x0 + w / 2, bottom - 0.2))  # records, then batches, flow left
    ids = "#b2182b"
    _arrow(ax, (xs[0] + w / 2, bottom + 0.2), (xs[1] - w / 2, bottom + 0.2), "ids", color=ids, offset=(0.0, 0.22))
    _arrow(ax, (xs[3], top - h / 2), (xs[3], bottom + h / 2), "the file", offset=(0.55, 0.0))
    _box(ax, xs[0], 2.85, w, 0.75, "each round, in Python:\nsample_clients → client ids", "#fbe3e3", size=8.5)
    _arrow(ax, (xs[0], 2.85 - 0.375), (xs[0], bottom + h / 2), color=ids)
    fig.tight_layout()
    alt = (
        "The path from a table to federated training, in two rows. Top row, in Python, once: a CSV or DataFrame; "
        "its columns grouped by the client key into a dict from id to that client's columns; TFF's TestClientData; "
        "a SQLite file written by save_to_sql_client_data with a split name per client. Bottom row, functions set "
        "up once in Python that TFF's runtime runs for each sampled client, every round: each round Python's "
        "sample_clients gives only client ids to process.next(state, ids), which hands each id to "
        "client_batches(id); that reads the client's records, right to left, from the ClientData that "
        "load_and_parse_sql_client_data returned (one client, from disk) through the per-split views by year "
        "(from_clients_and_tf_fn), and returns x, y batches for FedAvg's local training."
    )
    return Diagram(fig, alt)
