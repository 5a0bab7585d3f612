"""Look for client drift on the sample: does more local work hurt FedAvg's linear model on strongly skewed clients?

    uv run python -m studies.drift_search     # about 1 min on 2 cores; writes drift_search.json

Notebook 03 quotes the result. For three seeds, the sample's 9,000 train digits are dealt to 100 clients of 90 with
a Dirichlet(0.1) label mix, and FedAvg runs 10 rounds at `client_lr` 2.0 with 5 and with 20 local epochs.
Drift would show as a consistently lower accuracy with 20 epochs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run the search and write drift_search.json."""
    import numpy as np

    from helpers.algorithms import build_fedavg
    from helpers.partitions import dirichlet_partition, pool_examples, to_client_data
    from studies.sample_setup import sample_setup

    train, _, model_fn, runs = sample_setup()
    pixels, labels = pool_examples(train)
    results: dict[str, dict[str, float]] = {}
    for seed in (0, 1, 2):
        skewed = to_client_data(
            pixels,
            labels,
            dirichlet_partition(labels, [90] * 100, alpha=0.1, rng=np.random.default_rng(seed)),
            prefix="s",
        )
        results[str(seed)] = {
            str(epochs): runs.run(
                f"seed {seed}, {epochs} epochs",
                build_fedavg(model_fn, 2.0),
                num_rounds=10,
                eval_every=10,
                num_epochs=epochs,
                client_data=skewed,
                seed=seed,
            )["test_accuracy"][-1]
            for epochs in (5, 20)
        }
    (HERE / "drift_search.json").write_text(json.dumps(results, indent=1) + "\n")
    for seed, row in results.items():
        print(f"seed {seed}: 20 epochs minus 5 epochs = {100 * (row['20'] - row['5']):+.1f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
