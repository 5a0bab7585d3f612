"""helpers.plots: every figure the notebooks draw from helpers is titled, labelled and readable."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np

from helpers import plots


def test_label_heatmap_and_size_histogram() -> None:
    counts = np.array([[5, 0, 5], [0, 10, 0]])
    ax = plots.plot_label_heatmap(counts, title="t")
    assert np.allclose(ax.images[0].get_array(), [[0.5, 0, 0.5], [0, 1, 0]])
    ax = plots.plot_examples_per_client(counts)
    assert sum(p.get_height() for p in ax.patches) == 2


def test_label_heatmap_scale_fits_the_data_and_marks_the_even_share() -> None:
    """By default the darkest colour is the largest share shown, rounded up to a tenth; panels can share one."""
    import matplotlib.pyplot as plt

    ax = plots.plot_label_heatmap(np.array([[9, 11, 0, 0], [5, 5, 5, 5]]), title="t")  # largest share 0.55
    assert ax.images[0].get_clim() == (0, 0.6)
    counts = np.array([[1, 1, 1], [2, 1, 0]])
    for vmax, expected in ((None, 0.7), (1.0, 1.0)):
        ax = plots.plot_label_heatmap(counts, title="t", vmax=vmax)
        assert ax.images[0].get_clim() == (0, expected)
        colorbar = ax.figure.axes[-1]
        ticks = [(round(t, 3), label.get_text()) for t, label in zip(colorbar.get_yticks(), colorbar.get_yticklabels())]
        assert (0.333, "0.33 (even)") in ticks, ticks  # the even share, 1/3, where every cell of IID data would sit
        assert all(t != 0.3 for t, _ in ticks), ticks  # no tick crowds it
    plt.close("all")


def test_plot_runs_skips_unmeasured_rounds() -> None:
    runs = {
        "a": {"round": [1, 2, 3], "test_accuracy": [math.nan, 0.5, 0.7]},
        "b": {"round": [1, 2], "test_accuracy": [0.1, 0.2]},
    }
    ax = plots.plot_runs(runs)
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert list(ax.lines[0].get_xdata()) == [2, 3] and list(ax.lines[0].get_ydata()) == [0.5, 0.7]


def test_plot_runs_ticks_the_rounds_where_accuracy_was_measured() -> None:
    rounds = list(range(31))
    measured = [0.5 if r % 5 == 0 else math.nan for r in rounds]
    ax = plots.plot_runs({"a": {"round": rounds, "test_accuracy": measured}})
    assert list(ax.get_xticks()) == [0, 5, 10, 15, 20, 25, 30]
    many = plots.plot_runs({"a": {"round": rounds, "test_accuracy": [0.5] * 31}})
    assert list(many.get_xticks()) == [0, 4, 8, 12, 16, 20, 24, 28]  # thinned evenly to at most 8
    import matplotlib.pyplot as plt

    plt.close("all")


def test_plot_runs_can_draw_each_run_as_another_axis_drew_it() -> None:
    import matplotlib.pyplot as plt

    runs = {name: {"round": [1, 2], "test_accuracy": [0.1, 0.2]} for name in ("a", "b", "c")}
    left = plots.plot_runs(runs)
    right = plots.plot_runs({"c": runs["c"], "a": runs["a"]}, like=left)
    for line in right.lines:
        twin = next(t for t in left.lines if t.get_label() == line.get_label())
        assert (line.get_color(), line.get_linestyle(), line.get_marker()) == (
            twin.get_color(),
            twin.get_linestyle(),
            twin.get_marker(),
        )
    plt.close("all")


def test_client_accuracy_plot() -> None:
    ax = plots.plot_client_accuracy([0.5, 0.9, 1.0, 0.7])
    assert sum(p.get_height() for p in ax.patches) == 4


def _overlapping_tick_labels(fig: "matplotlib.figure.Figure") -> list[str]:
    """Pairs of visible tick labels, on any axis of `fig`, whose drawn boxes intersect."""
    renderer = fig.canvas.get_renderer()
    clashes = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            for i in range(len(boxes)):
                for j in range(i + 1, len(boxes)):
                    if boxes[i].overlaps(boxes[j]):
                        clashes.append(f"{labels[i].get_text()!r} / {labels[j].get_text()!r}")
    return clashes


def test_every_helper_figure_is_titled_labelled_and_has_readable_ticks() -> None:
    """The plots the notebooks draw, at the sizes they draw them (full-size EMNIST where that is larger)."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    rounds = list(range(1, 51))
    history = {
        "round": rounds,
        "loss": list(np.linspace(2, 0.5, 50)),
        "accuracy": list(np.linspace(0.2, 0.9, 50)),
        "examples": [4_500 * r for r in rounds],
        "test_accuracy": [0.8 if r % 5 == 0 else math.nan for r in rounds],
    }
    counts = rng.integers(0, 60, size=(3383, 10))
    axes = [
        plots.plot_runs({f"run {i}": history for i in range(6)}),
        plots.plot_runs({"a": history}, x="examples"),
        plots.plot_examples_per_client(counts, title="examples per client"),
        plots.plot_label_heatmap(counts, title="label shares"),
        plots.plot_client_accuracy(rng.random(3383), title="per-client accuracy"),
    ]
    figures = [ax.figure for ax in axes] + [plots.plot_history(history)]
    for fig in figures:
        fig.canvas.draw()
        assert not _overlapping_tick_labels(fig), _overlapping_tick_labels(fig)
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                assert ax.get_ylabel(), "a colour bar says what its colours mean"
                continue
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), f"untitled or unlabelled axes in {fig}"
        plt.close(fig)


def test_size_histogram_marks_the_median_and_heatmap_dots_empty_cells() -> None:
    """The dashed line is the median (not the mean); each zero count, and only those, gets a dot."""
    import matplotlib.pyplot as plt

    counts = np.array([[10, 0, 0], [20, 0, 0], [30, 30, 240]])  # sizes 10, 20, 300: median 20, mean 110
    ax = plots.plot_examples_per_client(counts)
    assert list(ax.lines[0].get_xdata()) == [20, 20] and ax.lines[0].get_label() == "median 20"
    ax = plots.plot_label_heatmap(counts, title="t")
    assert sorted(map(tuple, ax.collections[0].get_offsets().tolist())) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert ax.get_xlim() == (-0.5, 2.5) and "dot" in ax.get_xlabel()
    ax = plots.plot_label_heatmap(counts, title="t", mark_empty=False)
    assert not ax.collections and ax.get_xlabel() == "label"
    plt.close("all")


def test_prediction_grid_marks_wrong_predictions_in_red_and_fills_rows() -> None:
    """Wrong predictions get red titles and a visible red frame; the grid has rows of `columns`, spare cells blank."""
    import matplotlib.pyplot as plt

    fig = plots.plot_prediction_grid(np.zeros((5, 784)), [1, 2, 3, 4, 5], [1, 7, 3, 4, 0], columns=3)
    axes = fig.axes
    assert len(axes) == 6 and not axes[5].axison
    assert [ax.title.get_color() for ax in axes[:5]] == ["black", "tab:red", "black", "black", "tab:red"]
    assert [ax.spines["left"].get_visible() for ax in axes[:5]] == [False, True, False, False, True]
    assert axes[1].get_title() == "7 (2)" and fig.get_suptitle()
    plt.close(fig)
