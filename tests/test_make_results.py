"""tools/make_results.py: docs/RESULTS.md puts each notebook's committed runs next to its study's range."""

from __future__ import annotations

import json

import pytest

from tools import make_results


def test_every_study_row_finds_its_committed_runs() -> None:
    """Each spread row shows what the committed notebook printed; "not found" means a notebook changed its output
    format and `make_results.COMMITTED` (or `TEXT_SEEDS_COMMITTED`) must follow it."""
    rows = [line for line in make_results.spread_section() + make_results.text_seeds_section() if line.startswith("|")]
    assert len(rows) > 10
    missing = [row for row in rows if make_results.NOT_FOUND in row]
    assert not missing, missing


def test_a_committed_run_outside_its_study_is_marked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planted: a notebook whose committed runs lie outside the study's range is marked "outside"; inside is not."""
    printed = "DP noise 1.0                   test accuracy 0.999 after 10 rounds, 46,355 examples, 4 s\n"
    audit = "  1.0          3.44             14, 14, 14       0.00, 0.00, 0.00\n"
    monkeypatch.setattr(make_results, "notebook_outputs", lambda number: {"07": printed, "10": audit}.get(number, ""))
    dp = make_results.committed_runs("dp", "1.0")
    assert dp == ["0.999"]
    assert make_results.beside([0.514, 0.644], dp) == "0.999 (outside)"
    assert make_results.beside([0.514, 0.999], dp) == "0.999"
    guesses = make_results.committed_runs("audit", "1.0", 1)
    assert make_results.beside([7, 10, 13], guesses, 0) == "14, 14, 14 (outside)"
    assert make_results.beside([7, 17], guesses, 0) == "14, 14, 14"
    assert make_results.beside([0.483, 0.521], ["0.482-0.514"]) == "0.482 – 0.514 (outside)"
    assert make_results.committed_runs("dp", "0.5") == [] and make_results.beside([0.5], []) == "not found"
    # and the page shows it: the planted 0.999 is marked in the spread table
    study = json.loads((make_results.ROOT / "studies" / "spread.json").read_text())["dp"]["1.0"]
    table = "\n".join(make_results.spread_section())
    assert f"| DP-FedAvg, noise 1.0 | {make_results._span(study)} | 0.999 (outside) |" in table


def test_the_page_is_written_from_the_current_notebooks() -> None:
    """The generator runs on the repository as it is (the staleness test compares its page with docs/RESULTS.md)."""
    page = make_results.page()
    assert "## Run-to-run spread of the unseeded runs" in page and "Committed execution" in page
    assert json.loads((make_results.ROOT / "studies" / "spread.json").read_text())["dp"]
