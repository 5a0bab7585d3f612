"""The studies behind the notebooks' claims: runs repeated over seeds or executions, whose JSON the notebooks cite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(path: Path, results: dict) -> None:
    """Write a study's `results` as JSON to `path`, then print their "summary" and "failed_checks"."""
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["summary"], indent=1))
    print(f"failed checks: {results['failed_checks'] or 'none'}")


def record(cell_outputs: list[dict], mark: str) -> dict:
    """The numbers a record cell printed as JSON after `mark`, from its outputs.

    Raises:
      RuntimeError: the cell printed no record (it failed: the error names the missing variable).
    """
    for output in cell_outputs:
        if output.get("name") == "stdout" and mark in "".join(output["text"]):
            text = "".join(output["text"])
            return json.loads(text.split(mark, 1)[1])
    errors = [f"{o['ename']}: {o['evalue']}" for o in cell_outputs if o["output_type"] == "error"]
    raise RuntimeError(f"the record cell printed no numbers: {errors or 'no output'}")


def execute_with_record(nb: Any, notebook: Path, code: str, mark: str) -> tuple[dict, list[str]]:
    """Append a record cell `code` to `nb` (read from `notebook`), execute it in memory, and return what the record
    cell printed after `mark` and the errors of the notebook's own cells (each its message, or its type if empty).

    The notebook file is never written. A failed check is itself a result: the cells after it, the record cell
    among them, still run.

    Raises:
      RuntimeError: the record cell printed nothing; the message names the notebook's first failed cell, if any.
    """
    import nbformat

    from tools.repo import notebook_client

    nb.cells.append(nbformat.v4.new_code_cell(code))
    notebook_client(nb, notebook, timeout=900, allow_errors=True).execute()
    errors = [(i, o) for i, c in enumerate(nb.cells[:-1]) for o in c.get("outputs", []) if o["output_type"] == "error"]
    failed = [o["evalue"] or o["ename"] for _, o in errors]
    try:
        return record(nb.cells[-1].outputs, mark), failed
    except RuntimeError as missing:  # say which of the notebook's own cells failed first, not only what is missing
        first = f"; the first failed cell is {errors[0][0]}: {errors[0][1]['ename']}: {errors[0][1]['evalue']}"
        raise RuntimeError(f"{notebook.name}: {missing}{first if errors else ''}") from None
