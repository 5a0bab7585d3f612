"""Every glossary term a notebook uses is defined or linked at its first use there (tools/glossary_check.py)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tools import glossary_check
from tools.repo import notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks()

# Notebooks whose bare first uses are known and not yet fixed (their owners were busy with other changes of issue 38).
# The test of each is expected to fail, strictly: once a notebook passes, its entry must go. Empty it, then delete it.
EXPECTED_BARE: dict[str, str] = {}


def _marks(path: Path) -> list[pytest.MarkDecorator]:
    reason = EXPECTED_BARE.get(path.name[:2])
    return (
        [pytest.mark.xfail(reason=f"{reason}: remove it from EXPECTED_BARE once it passes", strict=True)]
        if reason
        else []
    )


@pytest.mark.parametrize("path", [pytest.param(p, marks=_marks(p), id=p.name[:2]) for p in NOTEBOOKS])
def test_every_glossary_term_is_linked_or_defined_at_its_first_use(path: Path) -> None:
    bare = glossary_check.bare_first_uses(path)
    assert not bare, (
        "link each first use to its glossary anchor, [word](../docs/GLOSSARY.md#anchor), or define it there in bold "
        f"(cell, anchor, words): {bare}"
    )


def test_every_term_heading_has_its_phrases_and_every_phrase_list_a_heading() -> None:
    headings = glossary_check.glossary_anchors()
    assert len(headings) == len(set(headings)), "two term headings with one anchor"
    assert set(headings) == set(glossary_check.TERMS), (
        "docs/GLOSSARY.md's term headings and tools/glossary_check.py's TERMS differ: "
        f"headings only {sorted(set(headings) - set(glossary_check.TERMS))}, "
        f"TERMS only {sorted(set(glossary_check.TERMS) - set(headings))}"
    )


def test_anchors_are_githubs_and_the_sites() -> None:
    """Our slug is GitHub's rule, and the one the site's myst (myst_heading_anchors) uses for every glossary heading."""
    from mdit_py_plugins.anchors.index import slugify

    headings = re.findall(r"^#{1,4} (.+)$", glossary_check.GLOSSARY.read_text(), re.M)
    assert headings and all(glossary_check.slug(h) == slugify(h) for h in headings)
    assert glossary_check.slug("Adam and Yogi's settings") == "adam-and-yogis-settings"  # GitHub drops the apostrophe
    assert glossary_check.slug("Settings (the course's fixed names)") == "settings-the-courses-fixed-names"


def _glossary_links() -> list[tuple[str, str]]:
    """(where, anchor) for every link to the glossary in notebook markdown and the Markdown pages."""
    found = []
    pages = [(p, p.read_text()) for p in [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")]]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        pages += [(path, c.source) for c in nb.cells if c.cell_type == "markdown"]
    for page, text in pages:
        for m in re.finditer(r"\]\(([^()\s]*GLOSSARY\.md)?#([^()\s]+)\)", text):
            if m.group(1) or page == glossary_check.GLOSSARY:
                assert (page.parent / (m.group(1) or page.name)).resolve() == glossary_check.GLOSSARY.resolve(), m[0]
                found.append((page.name, m.group(2)))
    return found


def test_every_link_to_the_glossary_has_an_anchor_it_holds() -> None:
    anchors = {glossary_check.slug(h) for h in re.findall(r"^#{1,4} (.+)$", glossary_check.GLOSSARY.read_text(), re.M)}
    links = _glossary_links()
    assert len(links) > 20, "the notebooks link their first uses to the glossary"
    broken = [(page, anchor) for page, anchor in links if anchor not in anchors]
    assert not broken, f"links to anchors the glossary does not have: {broken}"


def _notebook(tmp_path: Path, *markdown: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 99 · Planted\nA notebook about clients and rounds.")]
    nb.cells += [nbformat.v4.new_markdown_cell(text) for text in markdown]
    (tmp_path / "notebooks").mkdir(exist_ok=True)
    path = tmp_path / "notebooks" / "99_planted.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_check_catches_a_bare_first_use_and_accepts_a_link_or_a_definition(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    glossary = tmp_path / "docs" / "GLOSSARY.md"
    glossary.write_text("# Glossary\n\n## Terms\n\n### Cohort\nThe clients of a round.\n")

    def bare(*markdown: str) -> list[str]:
        return [a for _, a, _ in glossary_check.bare_first_uses(_notebook(tmp_path, *markdown), glossary)]

    assert "cohort" in bare("Each round samples a cohort.", "A [cohort](../docs/GLOSSARY.md#cohort).")
    assert "cohort" in bare("Each round samples a [cohort](../docs/GLOSSARY.md#round).")  # another term's anchor
    assert "cohort" in bare("Each round samples a [cohort](GLOSSARY.md#cohort).")  # not the glossary's path
    assert "cohort" in bare("Their cohort is small.")  # "is" alone defines nothing
    assert "cohort" not in bare("The `cohort` is code.", "Each round samples a [cohort](../docs/GLOSSARY.md#cohort).")
    assert "cohort" not in bare("Each round samples its **cohort**, the clients it trains.")
    assert "cohort" not in bare("Each round samples cohorts (the clients it trains).")
    assert "cohort" not in bare("## The cohort\nNo term here.", "$cohort$ neither.", "<!-- cohort -->")
    # The title cell's first two lines are the README's; a use in them does not count.
    assert "round" not in bare() and "client" not in bare()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_the_title_and_purpose_are_the_only_lines_left_out(path: Path) -> None:
    """The first cell's text after its title and purpose lines is checked like any other."""
    first = dict(glossary_check._lesson_cells(path))[0]
    kept = [line for line in first.splitlines() if line.strip()]
    source = [line for line in nbformat.read(path, as_version=4).cells[0].source.splitlines() if line.strip()]
    assert kept == source[2:]


def test_fix_links_each_bare_first_use_and_leaves_one_inside_another_link(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    glossary = tmp_path / "docs" / "GLOSSARY.md"
    glossary.write_text("# Glossary\n\n## Terms\n\n### Cohort\nThe clients of a round.\n\n### Server\nIt averages.\n")
    path = _notebook(tmp_path, "The server samples a cohort; the cohort trains.", "[The server's page](x.md).")
    assert glossary_check.link_first_uses(path, glossary) == []
    text = nbformat.read(path, as_version=4).cells[1].source
    assert text == (
        "The [server](../docs/GLOSSARY.md#server) samples a [cohort](../docs/GLOSSARY.md#cohort); the cohort trains."
    )
    assert [a for _, a, _ in glossary_check.bare_first_uses(path, glossary) if a in ("cohort", "server")] == []
    path = _notebook(tmp_path, "[The server's page](x.md).")
    assert glossary_check.link_first_uses(path, glossary) == [(1, "server", "server")]
