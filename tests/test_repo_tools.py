"""tools/repo.py and benchmarks/memory.py: what the tools, tests and benchmarks share."""

from __future__ import annotations

import os

import pytest

from benchmarks.memory import TreeRss, tree_rss
from tools.repo import notebooks, replace_block


def test_notebooks_are_the_numbered_ones_in_order() -> None:
    names = [path.name for path in notebooks()]
    assert names == sorted(names) and names[0].startswith("01_") and all(name[:2].isdigit() for name in names)


def test_replace_block_keeps_the_markers_and_names_a_missing_one() -> None:
    page = "a <!-- x:start -->old<!-- x:end --> b"
    assert replace_block(page, "<!-- x:start -->", "<!-- x:end -->", "new", inline=True) == (
        "a <!-- x:start -->new<!-- x:end --> b"
    )
    assert (
        replace_block(page, "<!-- x:start -->", "<!-- x:end -->", "new") == "a <!-- x:start -->\nnew\n<!-- x:end --> b"
    )
    with pytest.raises(ValueError, match="no <!-- y:end --> marker"):
        replace_block(page, "<!-- x:start -->", "<!-- y:end -->", "new")


def test_tree_rss_counts_this_process_and_keeps_a_peak_per_label() -> None:
    monitor = TreeRss(os.getpid(), interval=0.01)
    monitor.label = "work"
    monitor.sample()
    peak = monitor.stop()
    assert peak >= monitor.peaks["work"] > 0 and tree_rss(monitor.root) > 0


def test_the_readmes_minutes_to_run_come_from_a_current_run_alone_on_the_sample() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import make_nav
    import run_standin

    path = notebooks()[1]
    current = {"passed": True, "seconds": 61.0, "code_sha": run_standin.code_sha(path)}
    assert make_nav.alone_seconds(path, {path.name: current}) == 61.0
    assert make_nav.alone_seconds(path, {path.name: {**current, "code_sha": "older"}}) is None  # ran other code
    assert make_nav.alone_seconds(path, {path.name: {**current, "passed": False}}) is None
    assert make_nav.alone_seconds(path, {}) is None
