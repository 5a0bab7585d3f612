"""Run-to-run spread of notebooks 09 and 10's unseeded numbers: execute them several times and collect their tables.

    uv run python -m benchmarks.attack_spread                  # 5 executions of each, about 7 min on 2 cores
    uv run python -m benchmarks.attack_spread --executions 2 --out /tmp/attack_spread.json

The DP runs of notebooks 09 (reconstruction under noise) and 10 (membership inference and the canary audit) draw
their noise and their Poisson cohorts from unseeded generators, on purpose, so their correlations, membership
AUCs, test accuracies, canary guesses and ε lower bounds differ between executions. Each execution already repeats
every noise level several times; this collects those per-run numbers over whole executions of the notebooks as
committed (a temporary copy is executed, never the notebook itself), so that the margins of their checks can be
held against more runs than one execution shows. Results go to `attack_spread.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = (
    HERE.parent / "notebooks" / "09_reconstruction_attacks.ipynb",
    HERE.parent / "notebooks" / "10_membership_inference_and_audits.ipynb",
)  # the two whose unseeded numbers it spreads
NUMBER = r"(inf|[\d.]+)"
# The membership table prints each column as the range (min-max) over one execution's three runs per noise level.
MEMBERSHIP_COLUMNS = ("test_accuracy", "example_auc", "example_advantage", "writer_auc", "writer_advantage")


def _text(cell: dict) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("name") == "stdout")


def parse(cells: list[dict]) -> dict[str, dict[str, list[float]]]:
    """Pull the per-run numbers out of the printed tables of executed notebooks 09 and 10."""
    out: dict[str, dict[str, list[float]]] = {}
    for cell in cells:
        text = _text(cell)
        for line in text.splitlines():
            if m := re.match(rf"\s*{NUMBER}\s+{NUMBER}\s+([\d., ]+?)\s{{2,}}([\d., ]+)$", line):  # the audit table
                z = m.group(1)
                out.setdefault("canaries_correct", {}).setdefault(z, []).extend(int(v) for v in m.group(3).split(", "))
                out.setdefault("epsilon_lower_bound", {}).setdefault(z, []).extend(
                    float(v) for v in m.group(4).split(", ")
                )
            elif m := re.match(rf"\s*{NUMBER}\s+{NUMBER}((?:\s+[\d.]+-[\d.]+){{5}})$", line):  # the membership table
                for name, span in zip(MEMBERSHIP_COLUMNS, m.group(3).split()):
                    out.setdefault(name, {}).setdefault(m.group(1), []).extend(float(v) for v in span.split("-"))
            elif m := re.match(rf"noise {NUMBER}: correlation with the victim's digit, 5 runs: (.*)$", line):
                out.setdefault("dp_reconstruction", {}).setdefault(m.group(1), []).extend(
                    float(v) for v in m.group(2).split(", ")
                )
    return out


def measure(executions: int) -> dict:
    """Execute copies of notebooks 09 and 10 `executions` times; return their numbers per noise level, and ranges.

    Reconstruction correlations and canary results are per run; the membership columns are each execution's
    printed (min, max) over its three runs, so their overall range is still the range over every run.
    """
    import nbformat

    from tools.repo import notebook_client

    os.environ["FL_DATA"] = "sample"
    results: dict = {"executions": executions, "sampling_rate_fixed": True, "runs": {}, "failed_checks": []}
    with tempfile.TemporaryDirectory() as tmp:
        for execution in range(executions):
            for notebook in NOTEBOOKS:
                copy = Path(tmp) / notebook.name
                shutil.copy(notebook, copy)
                nb = nbformat.read(copy, as_version=4)
                # allow_errors: a failed check is itself a result (how often does a margin fail?); later cells run on.
                notebook_client(nb, notebook, timeout=900, allow_errors=True).execute()
                failed = [o["evalue"] for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
                results["failed_checks"].extend(failed)
                for name, by_noise in parse(nb.cells).items():
                    for z, values in by_noise.items():
                        results["runs"].setdefault(name, {}).setdefault(z, []).extend(values)
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
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["summary"], indent=1))
    print(f"failed checks in {args.executions} executions: {results['failed_checks'] or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
