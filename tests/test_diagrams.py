"""helpers.diagrams: each picture draws, says in words what it shows, and is displayed with that text as fallback."""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from helpers import diagrams  # noqa: E402

notebook_14_field = functools.partial(diagrams.receptive_field, 5, (1, 2, 4))  # notebook 14's char_model
DRAWINGS = (
    diagrams.fedavg_round,
    diagrams.aggregator_stack,
    diagrams.dp_clip_and_noise,
    notebook_14_field,
    diagrams.who_sees_what,
    diagrams.learning_process_blocks,
    diagrams.table_to_training,
)


def _name(draw) -> str:
    return getattr(draw, "__name__", None) or draw.func.__name__


@pytest.mark.parametrize("draw", DRAWINGS, ids=_name)
def test_each_diagram_has_a_figure_and_alt_text_that_describes_it(draw) -> None:
    diagram = draw()
    assert diagram.figure.axes, "something is drawn"
    assert len(diagram.alt.split()) >= 30 and diagram.alt.endswith("."), diagram.alt


def test_fedavg_round_names_the_placements_and_intrinsics_it_draws() -> None:
    diagram = diagrams.fedavg_round()
    drawn = " ".join(t.get_text() for t in diagram.figure.axes[0].texts)
    for name in ("tff.SERVER", "tff.CLIENTS", "federated_broadcast", "federated_mean"):
        assert name in drawn and name in diagram.alt, name


def test_fedavg_round_keeps_every_label_inside_the_figure() -> None:
    """No label runs off the picture's edge (the old "3. aggregate" label did)."""
    diagram = diagrams.fedavg_round()
    fig = diagram.figure
    fig.canvas.draw()
    box = fig.bbox
    for text in fig.axes[0].texts:
        extent = text.get_window_extent()
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0 and extent.y1 <= box.y1, (
            text.get_text()
        )


def test_fedavg_round_numbers_its_steps_in_reading_order_and_shows_who_sits_out_and_the_loop() -> None:
    diagram = diagrams.fedavg_round()
    texts = diagram.figure.axes[0].texts
    steps = sorted(
        (t for t in texts if t.get_text()[:2] in {f"{i}." for i in range(1, 10)}), key=lambda t: t.get_text()
    )
    assert [t.get_text()[0] for t in steps] == ["1", "2", "3", "4", "5"]
    xs = [t.get_position()[0] for t in steps]
    assert xs == sorted(xs), "step numbers run left to right"
    drawn = " ".join(t.get_text() for t in texts)
    assert "not sampled" in drawn and "greyed" in diagram.alt
    assert "repeat for num_rounds" in drawn and "repeat for num_rounds" in diagram.alt
    assert r"w_t - w_t^k" in drawn and "w_t - w_t^k" in diagram.alt, "the update has the glossary's sign"


def test_show_displays_a_png_with_the_alt_text_as_its_text_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, raw: shown.append((data, raw)))
    diagram = diagrams.aggregator_stack()
    diagrams.show(diagram)
    ((data, raw),) = shown
    assert raw and data["text/plain"] == diagram.alt
    assert data["image/png"].startswith(b"\x89PNG")
    assert not matplotlib.pyplot.fignum_exists(diagram.figure.number), "the figure is closed, not shown twice"


def test_the_same_diagram_gives_the_same_png_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Committed outputs do not change when a notebook is re-executed: no timestamp or software tag in the PNG."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, raw: shown.append(data["image/png"]))
    diagrams.show(diagrams.who_sees_what())
    diagrams.show(diagrams.who_sees_what())
    assert shown[0] == shown[1]


@pytest.mark.parametrize("draw", DRAWINGS, ids=_name)
def test_no_label_overlaps_another_or_crosses_a_box_border_or_the_figure_edge(draw) -> None:
    """Each label lies inside the figure, apart from every other label, and wholly inside or outside each box."""
    fig = draw().figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for t in fig.axes[0].texts if t.get_text().strip()]
    extents = [t.get_window_extent(renderer) for t in texts]
    boxes = [p.get_window_extent(renderer) for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)]
    edge = fig.bbox
    for i, (text, extent) in enumerate(zip(texts, extents)):
        label = text.get_text()
        assert edge.x0 <= extent.x0 and extent.x1 <= edge.x1 and edge.y0 <= extent.y0 and extent.y1 <= edge.y1, label
        for other, other_extent in zip(texts[i + 1 :], extents[i + 1 :]):
            assert not extent.overlaps(other_extent), (label, other.get_text())
        for box in boxes:
            inside = box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0 and extent.y1 <= box.y1
            assert inside or not extent.overlaps(box), f"{label!r} crosses a box border"


def test_the_aggregator_picture_gives_each_tff_factory_its_own_column_with_its_layers_in_order() -> None:
    """TFF 0.87 stacks zeroing > clipping > mean (robust), the same > secure sum (secure), zeroing > DP (dp)."""
    diagram = diagrams.aggregator_stack()
    texts = diagram.figure.axes[0].texts
    headers = {t.get_text(): t.get_position()[0] for t in texts if "aggregator(" in t.get_text()}
    assert list(headers) == ["robust_aggregator()", "secure_aggregator()", "dp_aggregator($z$, $m$)"]
    expected = {
        "robust_aggregator()": ["zeroing", "clipping", "mean", "federated_sum", "mean", "clipping, zeroing"],
        "secure_aggregator()": [
            "zeroing",
            "clipping",
            "mean",
            "secure sum",
            "federated_secure_sum_bitwidth",
            "secure sum",
            "mean",
            "clipping, zeroing, secure sum",
        ],
        "dp_aggregator($z$, $m$)": ["zeroing", "DP", "federated_sum", "DP", "DP, zeroing"],
    }
    for header, x in headers.items():
        column = [t for t in texts if abs(t.get_position()[0] - x) < 1e-9 and ":" in t.get_text()]
        column.sort(key=lambda t: -t.get_position()[1])  # top to bottom: clients, the sum, the server
        assert [t.get_text().split(":")[0] for t in column] == expected[header], header
    drawn = " ".join(t.get_text() for t in texts)
    for symbol in ("the bound:", "$C$:", "$n_k$:", "$B$:", "$z$, $m$:"):
        assert symbol in drawn, f"the key defines {symbol}"
    assert "$\\mathcal{N}(0, z^2C^2 I)$" in drawn, "the same noise as notebook 07 writes"
    drawn_colours = {p.get_facecolor() for p in diagram.figure.axes[0].patches if isinstance(p, FancyBboxPatch)}
    legend = [p for p in diagram.figure.axes[0].patches if isinstance(p, FancyBboxPatch) and p.get_width() < 0.5]
    assert drawn_colours == {p.get_facecolor() for p in legend}, "every box colour has a legend entry"
    assert len(legend) == len({p.get_facecolor() for p in legend}), "one colour, one meaning"
    assert drawn.count("sees only the total") == 1, "only the secure sum hides single updates from the server"
    for text in texts:  # the complaint: "clip on the client" drawn inside a clipping layer
        assert "clip on the client" not in text.get_text()


def test_the_dp_picture_clips_every_sent_update_and_labels_the_noise_and_divisor_it_was_given() -> None:
    diagram = diagrams.dp_clip_and_noise(clip=2.0, noise_multiplier=0.5, clients_per_round=20)
    drawn = " ".join(t.get_text() for t in diagram.figure.axes[0].texts)
    assert "$zC$ = 0.5 × 2 = 1\n" in drawn and "$\\div\\, m$ = 20" in drawn, drawn
    assert "z times C = 0.5 × 2 = 1." in diagram.alt and "m = 20" in diagram.alt
    # every symbol and mark is explained in the figure itself (issue 38's cold read)
    for key in ("$C$ = 2: the clip norm", "$z$: the noise multiplier", "$I$: the identity matrix", "the dots are"):
        assert key in drawn, key
    assert "around $m$ = 20" in drawn, "the cohort's size varies around m, said where the 5 drawn clients are"


def test_the_dp_picture_divides_the_noisy_sum_itself_by_m() -> None:
    """The ÷ m arrow starts at the tip of the noisy sum, not in empty space."""
    fig = diagrams.dp_clip_and_noise().figure
    ax = fig.axes[0]
    arrows = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None]
    purple_tips = [a.xy for a in arrows if a.arrow_patch.get_edgecolor()[:3] == to_rgba("#6a3d9a")[:3]]
    divide = max(arrows, key=lambda a: a.xy[0] - a.xyann[0])  # the longest rightward arrow
    assert any(abs(divide.xyann[0] - x - 0.15) < 1e-9 and abs(divide.xyann[1] - y) < 1e-9 for x, y in purple_tips)
    with pytest.raises(ValueError):
        diagrams.dp_clip_and_noise(clip=0.0)


@pytest.mark.parametrize(("kernel", "dilations", "field", "plain"), [(5, (1, 2, 4), 29, 13), (2, (1, 2, 4, 8), 16, 5)])
def test_the_receptive_field_highlights_exactly_the_characters_the_last_prediction_sees(
    kernel, dilations, field, plain
) -> None:
    """1 + (kernel - 1) x (sum of dilations) characters; without dilation 1 + (kernel - 1) x layers."""
    diagram = diagrams.receptive_field(kernel, dilations)
    seen = [
        p
        for p in diagram.figure.axes[0].patches
        if isinstance(p, FancyBboxPatch) and p.get_facecolor() == to_rgba(diagrams.CLIENT)
    ]
    assert len(seen) == field
    assert f"= {field} characters" in diagram.alt and f"only {plain}." in diagram.alt
    drawn = " ".join(t.get_text() for t in diagram.figure.axes[0].texts)
    assert f"kernel size {kernel}:" in drawn and f"1 + ({kernel} − 1) ×" in drawn, "the kernel size is shown"
    assert "dilation d:" in drawn and "␣ marks a space" in drawn
    with pytest.raises(ValueError, match="at least"):
        diagrams.receptive_field(kernel, dilations, text="too short")


def test_split_grid_counts_each_split_and_rejects_a_wrong_number_of_years() -> None:
    cells = [["train", "train", "same clients later"]] * 3 + [["test"] * 3] * 2 + [["validation"] * 3]
    diagram = diagrams.split_grid(cells, [1985, 1986, 1987])
    assert "train: 6 records of 3 clients" in diagram.alt
    assert "same clients later: 3 records of 3 clients" in diagram.alt
    assert "test: 6 records of 2 clients" in diagram.alt and "validation: 3 records of 1 clients" in diagram.alt
    assert len(diagram.alt.split()) >= 30 and diagram.alt.endswith(".")
    image = diagram.figure.axes[0].images[0].get_array()
    assert image.shape == (6, 3) and image[0, 0] == 0, "training clients first"
    with pytest.raises(ValueError, match="columns of cells"):
        diagrams.split_grid(cells, [1986, 1987])


def test_the_table_to_training_picture_names_each_tff_step_and_lets_only_ids_in_each_round() -> None:
    diagram = diagrams.table_to_training()
    texts = diagram.figure.axes[0].texts
    drawn = " ".join(t.get_text() for t in texts)
    for name in ("TestClientData", "save_to_sql_client_data", "from_clients_and_tf_fn", "client_batches(id)"):
        assert name in drawn and name in diagram.alt, name
    assert "load_and_parse_\nsql_client_data" in drawn and "load_and_parse_sql_client_data" in diagram.alt
    position = {t.get_text().split("\n")[0]: t.get_position() for t in texts}
    once = ["CSV or DataFrame", "group by client key", "TestClientData", "SQLite file"]
    assert [position[k][0] for k in once] == sorted(position[k][0] for k in once), "the top row reads left to right"
    assert position["process.next(state, ids)"][1] < position["SQLite file"][1], "training is in the bottom row"
    assert "ids" in drawn and "only client ids" in diagram.alt, "each round, Python hands TFF client ids alone"
