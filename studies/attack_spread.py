"""Run-to-run spread of notebooks 09 and 10's unseeded numbers: execute them several times and collect their runs.

    uv run python -m studies.attack_spread                  # 5 executions of each, about 7 min on 2 cores
    uv run python -m studies.attack_spread --executions 2 --out /tmp/attack_spread.json

The DP runs of notebooks 09 (reconstruction under noise) and 10 (membership inference and the canary audit) draw
their noise from TFF's own generator, whose seed cannot be set, so their correlations, membership AUCs, test
accuracies, canary guesses and ε lower bounds differ between executions. Notebook 09 also draws its Poisson cohorts
unseeded. Notebook 10 seeds each of its repeats explicitly (its split of writers into insiders and outsiders, its
canaries' coins and its cohorts) from `SEED`, so the study executes it with `SEED = 0, 1, 2, ...` (execution 0 is
the committed seed). Each execution already repeats every noise level several times; this collects those per-run
numbers over whole executions of the notebooks as committed (an in-memory copy runs; the notebook file is never
written), so that the margins of their checks can be held against more runs than one execution shows. Results go
to `attack_spread.json`.

The numbers are read from the notebooks' own variables, not from what they print: after the last cell of each copy
the study runs one more, `RECORDS[notebook]`, which prints them as JSON. A renamed variable fails that cell, and
`tests/test_studies.py` checks that every name it reads is assigned in the notebook.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from studies import execute_with_record, write_results

HERE = Path(__file__).resolve().parent
NOTEBOOK_DIR = HERE.parent / "notebooks"
MARK = "ATTACK_SPREAD_RECORD "
SEEDED = "10_membership_inference_and_audits.ipynb"  # executed with SEED = the execution's number
SEED_LINE = "SEED = 0\n"
# The cell run after each notebook: its per-run numbers by noise level (str(z), or "none" for the undefended runs).
RECORDS = {
    "09_reconstruction_attacks.ipynb": """
import json
print("ATTACK_SPREAD_RECORD " + json.dumps({"dp_reconstruction": {str(z): values for z, values in dp_recon.items()}}))
""",
    "10_membership_inference_and_audits.ipynb": """
import json
_columns = {"test_accuracy": lambda r: r[0], "example_auc": lambda r: r[1].auc,
            "example_advantage": lambda r: r[1].advantage, "writer_auc": lambda r: r[2].auc,
            "writer_advantage": lambda r: r[2].advantage}
_record = {name: {str(z): [float(get(r)) for r in rows] for z, rows in membership.items()}
           for name, get in _columns.items()}
_record["canaries_correct"] = {str(z): [int(c) for c, _ in rows] for z, rows in audit.items()}
_record["epsilon_lower_bound"] = {str(z): [float(e) for _, e in rows] for z, rows in audit.items()}
print("ATTACK_SPREAD_RECORD " + json.dumps(_record))
""",
}


def measure(executions: int) -> dict:
    """Execute copies of notebooks 09 and 10 `executions` times; return every run's numbers per noise level, and
    their ranges."""
    import nbformat

    os.environ["FL_DATA"] = "sample"
    results: dict = {"executions": executions, "sampling_rate_fixed": True, "seeds_of_10": list(range(executions)),
                     "runs": {}, "failed_checks": []}  # fmt: skip
    for execution in range(executions):
        for name, code in RECORDS.items():
            notebook = NOTEBOOK_DIR / name
            nb = nbformat.read(notebook, as_version=4)
            if name == SEEDED:
                seed_cells = [c for c in nb.cells if c.cell_type == "code" and SEED_LINE in c.source]
                if len(seed_cells) != 1:
                    raise RuntimeError(
                        f"{name}: expected one cell setting {SEED_LINE.strip()!r}, found {len(seed_cells)}"
                    )
                seed_cells[0].source = seed_cells[0].source.replace(SEED_LINE, f"SEED = {execution}\n")
            printed, failed = execute_with_record(nb, notebook, code, MARK)
            results["failed_checks"].extend(failed)
            for column, by_noise in printed.items():
                for z, values in by_noise.items():
                    results["runs"].setdefault(column, {}).setdefault(z, []).extend(values)
        print(f"execution {execution + 1}/{executions} done", flush=True)
    results["summary"] = {
        name: {z: [min(v), max(v)] for z, v in by_noise.items()} for name, by_noise in results["runs"].items()
    }
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "attack_spread.json")
    args = parser.parse_args(argv)
    if args.executions < 1:
        parser.error("--executions must be at least 1.")
    results = measure(args.executions)
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
