"""What the tools, tests and benchmarks share about this repository: where the notebooks are, how a generated block
is put into a page, and how a notebook is executed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"


def notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The course's notebooks in order: the files named `NN_topic.ipynb`."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def replace_block(text: str, start: str, end: str, body: str, *, inline: bool = False) -> str:
    """`text` with what lies between the markers `start` and `end` replaced by `body` (on lines of its own, unless
    `inline`).

    Raises:
      ValueError: a marker is missing, naming it.
    """
    for marker in (start, end):
        if marker not in text:
            raise ValueError(f"the page has no {marker} marker: put {start} and {end} where the block goes")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}{body}{end}{tail}" if inline else f"{head}{start}\n{body}\n{end}{tail}"


def notebook_client(nb: Any, path: Path, *, timeout: int, allow_errors: bool = False) -> Any:
    """An nbclient `NotebookClient` for `nb` (read from `path`) on the python3 kernel, started in the notebook's
    folder as JupyterLab starts it."""
    from nbclient import NotebookClient

    return NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )


def fetch_from_pypi(project: str, filename: str, folder: Path) -> Path:
    """Download the file `filename` of PyPI project `project` into `folder` and return its path.

    It is found through PyPI's simple API (PEP 691), as pip finds it; the caller checks its hash before use.
    """
    import json
    import urllib.request

    index = urllib.request.Request(
        f"https://pypi.org/simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(index, timeout=60) as response:
        files = json.load(response)["files"]
    (url,) = [f["url"] for f in files if f["filename"] == filename]
    target = folder / filename
    with urllib.request.urlopen(url, timeout=300) as response:
        target.write_bytes(response.read())
    return target
