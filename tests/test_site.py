"""The course site (`uv run python -m tools.site`): it builds with warnings as errors, offline, from the committed
notebooks without executing them, hides the checks and folds the solutions, and reads in a real browser.

The whole site is built once per session (the `site` fixture, about a minute); the planted defects build a tiny
synthetic course instead, so each takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools import make_nav, site  # noqa: E402

NOTEBOOK_01 = "notebooks/01_federated_averaging_quickstart"


def _digests(source: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((source / "notebooks").glob("*.ipynb"))}


def _snapshot(dest: Path) -> Path:
    """The repository's pages and notebooks copied to `dest` as they are now, the rest linked: the site is built
    from one consistent state even while someone edits or re-executes a notebook in the working tree."""
    dest.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name in (".git", "build"):
            continue
        if entry.name in ("docs", "notebooks"):
            shutil.copytree(entry, dest / entry.name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        elif entry.suffix == ".md":
            shutil.copy2(entry, dest / entry.name)
        else:
            (dest / entry.name).symlink_to(entry)
    return dest


def _is_kernel(process) -> bool:
    try:
        return "ipykernel" in " ".join(process.cmdline())
    except Exception:  # psutil's NoSuchProcess or AccessDenied: gone, or not ours
        return False


def _html(out: Path, docname: str):
    from bs4 import BeautifulSoup  # the book theme's own dependency

    return BeautifulSoup((out / f"{docname}.html").read_text(), "html.parser")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> dict:
    """The real site, built once in this process from a snapshot of the repository (`_snapshot`), with every way of
    starting a kernel or executing a notebook made to fail."""
    import jupyter_client
    import nbclient
    import psutil

    started: list[str] = []

    def refuse(name):
        def fail(*args, **kwargs):
            started.append(name)
            raise AssertionError(f"the site build tried to {name}")

        return fail

    patches = [
        (jupyter_client.KernelManager, "start_kernel"),
        (jupyter_client.AsyncKernelManager, "start_kernel"),
        (jupyter_client.AsyncKernelManager, "_async_start_kernel"),
        (nbclient.NotebookClient, "execute"),
        (nbclient.NotebookClient, "async_execute"),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name in patches]
    source = _snapshot(tmp_path_factory.mktemp("source") / "repo")
    before = _digests(source)
    mpatch = pytest.MonkeyPatch()
    for owner, name in patches:
        mpatch.setattr(owner, name, refuse(f"{owner.__name__}.{name}"))
    kernels: list[str] = []
    try:
        out = site.build(tmp_path_factory.mktemp("site") / "site", source)
        kernels = [" ".join(c.cmdline()) for c in psutil.Process().children(recursive=True) if _is_kernel(c)]
    finally:
        mpatch.undo()
    assert all(getattr(owner, name) is fn for owner, name, fn in saved)
    after = _digests(source)
    return {"out": out, "source": source, "before": before, "after": after, "started": started, "kernels": kernels}


@pytest.mark.slow
def test_the_site_builds_with_warnings_as_errors_and_runs_nothing(built_site) -> None:
    out = built_site["out"]
    assert (out / "index.html").exists() and (out / "README.html").exists()
    assert built_site["after"] == built_site["before"], "building changed a notebook file"
    assert not built_site["started"], f"the build tried to execute: {built_site['started']}"
    assert not built_site["kernels"], f"kernels running after the build: {built_site['kernels']}"
    conf = (ROOT / "tools" / "site" / "conf.py").read_text()
    assert re.search(r'^nb_execution_mode = "off"$', conf, re.M)
    assert "intersphinx" not in conf
    # Every notebook and every page is on the site.
    for path in sorted((built_site["source"] / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert (out / "notebooks" / f"{path.stem}.html").exists(), path.name
    for page in site.PAGES:
        assert (out / page.replace(".md", ".html")).exists(), page


@pytest.mark.slow
def test_the_table_of_contents_follows_the_course_order(built_site) -> None:
    soup = _html(built_site["out"], "README")
    captions = [c.get_text(strip=True) for c in soup.select("nav.bd-docs-nav p.caption")]
    expected = [make_nav.TRACKS[t] for t in site.tracks(built_site["source"])] + ["Pages"]
    assert captions == expected
    links = [a["href"] for a in soup.select("nav.bd-docs-nav a.reference.internal")]
    order = [f"{name}.html" for names in site.tracks(built_site["source"]).values() for name in names]
    order += [p.replace(".md", ".html") for p in site.PAGES]
    assert [h for h in links if h in order] == order


@pytest.mark.slow
def test_a_notebook_page_has_launch_download_and_previous_next_links(built_site) -> None:
    soup = _html(built_site["out"], NOTEBOOK_01)
    hrefs = [a.get("href", "") for a in soup.select("a")]
    name = f"{Path(NOTEBOOK_01).name}.ipynb"
    assert make_nav.colab_url(ROOT / f"{NOTEBOOK_01}.ipynb") in hrefs, "Colab opens this release's notebook"
    assert any(h.startswith("https://mybinder.org/v2/gh/") and h.endswith(name) for h in hrefs)
    assert any(h.endswith(f"_sources/{NOTEBOOK_01}.ipynb") for h in hrefs), "the download link gives the .ipynb"
    assert (built_site["out"] / "_sources" / f"{NOTEBOOK_01}.ipynb").exists()
    assert [a["href"] for a in soup.select(".prev-next-area a")] == ["../README.html", "02_federated_data.html"]


@pytest.mark.slow
def test_the_tagged_checks_and_solutions_of_the_real_notebooks_are_folded(built_site) -> None:
    """Whatever cells the committed notebooks tag `check` or `solution` are inside a <details> on their page."""
    for path in sorted((built_site["source"] / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        soup = _html(built_site["out"], f"notebooks/{path.stem}")
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        for tag, label in (("check", site.CHECK_LABEL), ("solution", site.SOLUTION_LABEL)):
            code = sum(tag in t for t, c in zip(tags, nb.cells) if c.cell_type == "code")
            shown = soup.select(f"div.cell.tag_{tag}")
            assert len(shown) == code, (path.name, tag)
            for div in shown:
                assert div.find("details") and label in div.find("details").summary.get_text(), (path.name, tag)
        solution_md = sum("solution" in t for t, c in zip(tags, nb.cells) if c.cell_type == "markdown")
        assert len(soup.select("details.solution")) == solution_md, path.name


def test_the_workflow_publishes_what_the_documented_command_builds() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    trigger = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert trigger["push"]["tags"] == ["v*"], "published for each release tag"
    assert workflow["permissions"]["pages"] == "write" and workflow["permissions"]["id-token"] == "write"
    build = workflow["jobs"]["build"]["steps"]
    assert [s.get("run") for s in build if s.get("run") == site.COMMAND] == [site.COMMAND]
    upload = [s for s in build if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert len(upload) == 1 and upload[0]["with"]["path"] == site.OUT.relative_to(ROOT).as_posix()
    runs = [s.get("run", "") for s in build]
    assert runs.index(site.COMMAND) > runs.index("uv sync --locked")
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    readme = (ROOT / "README.md").read_text()
    assert f"```bash\n{site.COMMAND}\n```" in readme, "the README names the build command"
    assert "build/" in (ROOT / ".gitignore").read_text().split(), "the built site is not committed"


def test_the_readme_links_the_site_url_generated_from_the_repository(monkeypatch) -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split(make_nav.SITE_START, 1)[1].split(make_nav.SITE_END, 1)[0]
    assert block == f"[{make_nav.site_url()}]({make_nav.site_url()})"
    monkeypatch.setattr(make_nav, "repo_url", lambda: "https://github.com/Some-Org/course")
    assert make_nav.site_url() == "https://some-org.github.io/course/"
    monkeypatch.setattr(make_nav, "repo_url", lambda: "https://github.com/someone/someone.github.io")
    assert make_nav.site_url() == "https://someone.github.io/"


def test_links_to_repository_files_that_are_not_pages_go_to_github(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "README.md").write_text("x")
    (tmp_path / "docs" / "USAGE.md").write_text("x")
    blob = "https://github.com/o/r/blob/v1"
    text = "[a](../data/README.md) [b](USAGE.md#the-pip-path) [c](../data/) [d](gone.md) [e](https://x.org) ![i](p.png)"
    got = site.rewrite_links(text, tmp_path, "docs/GLOSSARY.md", blob)
    assert got == (
        "[a](https://github.com/o/r/blob/v1/data/README.md) [b](USAGE.md#the-pip-path) "
        "[c](https://github.com/o/r/tree/v1/data) [d](gone.md) [e](https://x.org) ![i](p.png)"
    )


# A tiny course in the layout of the real one, folded as tools/fold_cells.py folds the notebooks.


def _tiny_notebook() -> nbformat.NotebookNode:
    v4 = nbformat.v4
    nb = v4.new_notebook(
        metadata={
            "course": {"track": "core", "builds_on": []},
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "pygments_lexer": "ipython3"},
        }
    )
    nb.cells = [
        v4.new_markdown_cell("# 01 · Tiny\nA notebook with one check and one exercise."),
        v4.new_markdown_cell(
            "The update is $\\Delta = w_t - w_t^k$, and the server step is\n\n$$w_{t+1} = w_t - \\Delta$$"
        ),
        v4.new_code_cell(
            "x = 6 * 7\nprint(x)\nassert x == 42",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="42\n")],
        ),
        v4.new_markdown_cell("## Exercises\n1. Print the answer."),
        v4.new_markdown_cell("## Solutions\n**1.** The next cell prints it."),
        v4.new_code_cell(
            "print('the answer is', x)",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="the answer is 42\n")],
        ),
        v4.new_markdown_cell("[Contents](../README.md#notebooks)", metadata={"tags": ["nav-footer"]}),
    ]
    return nb


def _fold(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Fold `nb` with tools/fold_cells.py, as tools/make_nav.py folds the real notebooks."""
    from tools import fold_cells

    fold_cells.fold(nb)
    return nb


def _tiny_course(folder: Path, readme_extra: str = "") -> Path:
    (folder / "notebooks").mkdir(parents=True)
    nbformat.write(_fold(_tiny_notebook()), folder / "notebooks" / "01_tiny.ipynb")
    (folder / "README.md").write_text(
        f"# Tiny course\n\n## Notebooks\n[01 · Tiny](notebooks/01_tiny.ipynb)\n{readme_extra}\n"
    )
    return folder


def _build(source: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tools.site", "--source", str(source), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def tiny_site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    done = _build(_tiny_course(folder / "src"), folder / "site")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return folder / "site"


@pytest.mark.slow
def test_a_folded_notebook_shows_its_check_and_solution_folded_with_the_output_inside(tiny_site: Path) -> None:
    nb = _fold(_tiny_notebook())
    assert [c for c in nb.cells if "check" in c.metadata.get("tags", [])], "the fixture has a check cell"
    soup = _html(tiny_site, "notebooks/01_tiny")
    checks = soup.select("div.cell.tag_check")
    assert len(checks) == 1 and checks[0].find("details")
    assert site.CHECK_LABEL in checks[0].find("details").summary.get_text()
    assert "assert x == 42" in checks[0].find("details").get_text()
    solutions = soup.select("div.cell.tag_solution")
    assert len(solutions) == 1
    details = solutions[0].find("details")
    assert "Solution" in details.summary.get_text() and "the answer is 42" in details.get_text(), "output inside"
    answer = soup.select("details.solution")
    assert len(answer) == 1 and "The next cell prints it" in answer[0].get_text()
    headings = [h for h in soup.find_all(["h1", "h2"]) if h.get_text().startswith("Solutions")]
    assert headings and not headings[0].find_parent("details"), "the heading stays, outside the folds"
    lesson = [c for c in soup.select("div.cell") if "tag_check" not in c["class"] and "tag_solution" not in c["class"]]
    assert lesson and not lesson[0].find("details") and "42" in lesson[0].get_text(), "the lesson cell stays open"
    assert soup.select("span.math") and soup.select("div.math"), "inline and display maths"


DEFECTS = {  # a broken page link, a broken anchor and a missing image: each is named by the failed build
    "GONE.md": "See [the usage page](docs/GONE.md).",
    "no-such-heading": "See [a heading](notebooks/01_tiny.ipynb#no-such-heading).",
    "missing.png": "![A figure](docs/missing.png)",
}


@pytest.mark.slow
def test_a_broken_internal_link_or_a_missing_image_fails_the_build(tmp_path: Path) -> None:
    done = _build(_tiny_course(tmp_path / "src", "\n\n".join(DEFECTS.values())), tmp_path / "site")
    assert done.returncode != 0, "the build passed with a broken link and a missing image"
    warnings = [line for line in (done.stdout + done.stderr).splitlines() if "WARNING" in line]
    for named in DEFECTS:
        assert [w for w in warnings if named in w], f"no warning names {named}: {warnings}"


# The real browser: the built site from file://, with every request that is not a local file refused.


@pytest.mark.slow
def test_the_site_in_chromium_offline_shows_the_diagram_maths_solution_and_search(built_site) -> None:
    from tests.test_browser import CHROMIUM_FLAGS, _chromium

    browser_path = _chromium()
    from playwright.sync_api import sync_playwright

    out = built_site["out"]
    nb01 = nbformat.read(built_site["source"] / f"{NOTEBOOK_01}.ipynb", as_version=4)
    assert any("solution" in c.metadata.get("tags", []) for c in nb01.cells), "notebook 01's solutions are folded"
    refused: list[tuple[str, str]] = []

    def only_files(route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append((route.request.resource_type, route.request.url))
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, headless=True, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route("**/*", only_files)
            page = context.new_page()
            page.goto((out / f"{NOTEBOOK_01}.html").as_uri())
            # The round diagram: the image that the cell drawing `fedavg_round()` output, loaded from the site.
            cell = page.locator("div.cell", has_text="fedavg_round").first
            image = cell.locator("img").first
            image.wait_for(timeout=30_000)
            assert image.evaluate("img => img.complete && img.naturalWidth > 100")
            # MathJax, from the site's own copy, typeset the equations.
            page.wait_for_selector("mjx-container svg", timeout=60_000)
            assert page.locator("mjx-container").count() >= 2
            # A folded solution, notebook 01's own.
            solution = page.locator("details", has_text="Solution").first
            assert solution.count() == 1 and not solution.evaluate("d => d.open")
            assert not solution.locator(".cell_output, p").last.is_visible()
            solution.locator("summary").click()
            assert solution.evaluate("d => d.open")
            # Search, as a reader types it.
            page.goto((out / "search.html").as_uri() + "?q=secure+aggregation")
            results = page.locator("#search-results a[href]")
            results.first.wait_for(timeout=60_000)
            hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
            assert any("08_compression_secure_robust_aggregation" in h for h in hrefs), hrefs
        finally:
            browser.close()
    loads = [(kind, url) for kind, url in refused if kind in ("script", "stylesheet", "font", "fetch", "xhr")]
    assert not loads, f"the pages need the network for: {loads}"


def test_the_site_tool_folds_by_tag_and_keeps_everything_else() -> None:
    nb = json.loads(nbformat.writes(_fold(_tiny_notebook())))
    before = json.dumps(nb)
    shown = site.fold_notebook(json.loads(before))
    for old, new in zip(nb["cells"], shown["cells"]):
        tags = old["metadata"].get("tags", [])
        if old["cell_type"] == "code" and {"check", "solution"} & set(tags):
            assert "hide-cell" in new["metadata"]["tags"] and new["outputs"] == old["outputs"]
        elif "solution" in tags:
            assert new["source"].startswith('<details class="solution">\n<summary>Solution</summary>')
        else:
            assert new == old
