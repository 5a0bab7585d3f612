"""Seed-to-seed spread of notebook 04's comparison: FedAvg, FedAdam, FedYogi and FedProx, all at client_lr 0.02.

    uv run python -m studies.server_optimizers     # 5 seeds, about 4 min on 2 cores; writes server_optimizers.json

Notebook 04 runs each algorithm once, with seed 0, and quotes the spread measured here before it claims an order.
The seed picks each round's clients and the clients' local shuffles; everything else is notebook 04's: the sample,
the seed model, 20 rounds of 10 clients, 5 local epochs, batches of 20, test accuracy on the pooled test set. The four
processes are the ones notebook 04 defines and saves, `helpers.algorithms.server_optimizer_contenders`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEEDS = (0, 1, 2, 3, 4)


GAPS = {
    "FedAdam - FedAvg": ("FedAdam (server Adam 0.01)", "FedAvg (client_lr 0.02)"),
    "FedAdam - FedYogi": ("FedAdam (server Adam 0.01)", "FedYogi (server Yogi 0.01)"),
    "FedProx - FedAvg": ("FedProx (mu 0.1)", "FedAvg (client_lr 0.02)"),
}


def summarize(accuracy: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The accuracies by seed, and for each gap the notebook discusses its smallest and largest value over the seeds."""
    gaps = {
        name: [round(accuracy[seed][a] - accuracy[seed][b], 3) for seed in accuracy] for name, (a, b) in GAPS.items()
    }
    return {"accuracy": accuracy, "gaps": gaps, "gap_range": {name: [min(v), max(v)] for name, v in gaps.items()}}


def main(argv: list[str] | None = None) -> int:
    """Run every contender for every seed; write the accuracies after 20 rounds and the gaps between them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=HERE / "server_optimizers.json")
    args = parser.parse_args(argv)
    if len(args.seeds) < 3:
        parser.error("--seeds needs at least 3 seeds: a spread of fewer says little")
    from helpers.algorithms import server_optimizer_contenders
    from studies.sample_setup import sample_setup

    _, _, model_fn, runs = sample_setup()
    results = {
        str(seed): {
            name: runs.run(f"{name}, seed {seed}", process, num_rounds=20, eval_every=20, seed=seed)["test_accuracy"][
                -1
            ]
            for name, process in server_optimizer_contenders(model_fn).items()
        }
        for seed in args.seeds
    }
    args.out.write_text(json.dumps(summarize(results), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
