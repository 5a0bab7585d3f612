"""Notebook 14's numbers over seeds: execute it with SEED = 0, 1 and 2 and collect what it measured.

    uv run python -m studies.text_seeds                 # 3 seeds, about 6 min on 2 cores
    uv run python -m studies.text_seeds --seeds 0 1 --out /tmp/text_seeds.json

Notebook 14 trains once per choice, with `SEED = 0`: the seed picks the validation roles, the cohorts, the shuffles
and the initial weights. Its text compares numbers a few points apart (FedAvg after 10 rounds against one central
epoch, the fine-tuned model before and after its rounds), which one seed cannot order. This executes in-memory
copies of the notebook up to its Summary (the notebook itself is never changed), one per seed, and reads the numbers
from the notebook's own variables with one appended cell, as `studies.attack_spread` does. Results go to
`text_seeds.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from studies import execute_with_record, write_results

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE.parent / "notebooks" / "14_federated_text_shakespeare.ipynb"
MARK = "TEXT_SEEDS_RECORD "
SEED_LINE = "SEED = 0\n"
RECORD = """
import json
print("TEXT_SEEDS_RECORD " + json.dumps({
    "client_lr": client_lr,
    "central_epochs": [float(acc) for acc, _ in central_curve],
    "fedavg_by_client_lr": {str(lr): float(curve[-1]) for lr, curve in curves.items()},
    "fedavg": float(scratch_curve[-1]),
    "finetune_start": float(finetune_curve[0]),
    "finetune_end": float(finetune_curve[-1]),
    "null": float(null_accuracy),
    "test": {name: float(value) for name, value in test_results.items()},
}))
"""


def measure(seeds: list[int]) -> dict:
    """Execute notebook 14 up to its Summary once per seed; return each seed's numbers and their ranges."""
    import nbformat

    os.environ["FL_DATA"] = "sample"
    runs, failed = {}, {}
    for seed in seeds:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        summary = next(
            i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## Summary")
        )
        nb.cells = nb.cells[:summary]
        setup = [c for c in nb.cells if c.cell_type == "code" and SEED_LINE in c.source]
        if len(setup) != 1:
            raise RuntimeError(f"{NOTEBOOK.name}: expected one cell setting {SEED_LINE.strip()!r}, found {len(setup)}")
        setup[0].source = setup[0].source.replace(SEED_LINE, f"SEED = {seed}\n")
        runs[str(seed)], failed[str(seed)] = execute_with_record(nb, NOTEBOOK, RECORD, MARK)
        print(f"seed {seed}: {json.dumps(runs[str(seed)])}", flush=True)
    numbers = {
        "central, 1 epoch": [r["central_epochs"][0] for r in runs.values()],
        "central, 2 epochs": [r["central_epochs"][1] for r in runs.values()],
        "FedAvg, 10 rounds": [r["fedavg"] for r in runs.values()],
        "fine-tuned, before round 1": [r["finetune_start"] for r in runs.values()],
        "fine-tuned, 10 rounds": [r["finetune_end"] for r in runs.values()],
        "fine-tuned gain in 10 rounds": [r["finetune_end"] - r["finetune_start"] for r in runs.values()],
        "FedAvg minus central 1 epoch": [r["fedavg"] - r["central_epochs"][0] for r in runs.values()],
    }
    summary = {name: [round(min(v), 3), round(max(v), 3)] for name, v in numbers.items()}
    return {"seeds": seeds, "runs": runs, "summary": summary, "failed_checks": failed}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=HERE / "text_seeds.json")
    args = parser.parse_args(argv)
    if len(set(args.seeds)) < 2:
        parser.error("--seeds needs at least 2 different seeds: a spread of one run is no spread.")
    results = measure(args.seeds)
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
