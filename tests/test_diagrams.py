"""helpers.diagrams: each picture draws, says in words what it shows, and is displayed with that text as fallback."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from helpers import diagrams  # noqa: E402

DRAWINGS = (diagrams.fedavg_round, diagrams.aggregator_stack, diagrams.who_sees_what, diagrams.learning_process_blocks)


@pytest.mark.parametrize("draw", DRAWINGS, ids=lambda f: f.__name__)
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
