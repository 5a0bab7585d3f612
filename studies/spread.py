"""Run-to-run spread of the unseeded runs of notebooks 07 and 08: DP-FedAvg at each noise level, and quantized FedAvg.

    uv run python -m studies.spread                  # 20 executions, about 10 min on 2 cores
    uv run python -m studies.spread --executions 2 --out /tmp/spread.json

TFF draws DP noise and the quantizer's random rounding from unseeded generators, and the DP runs draw their
cohorts by secret Poisson sampling, on purpose. So these accuracies differ between executions, and notebooks 07
and 08 quote the ranges measured here (written to `spread.json`) to justify the margins of their checks. The
settings are theirs: the sample, the seed model, 10 rounds, `client_lr` 0.1, clip 1.0, 10 clients per round.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOISE_MULTIPLIERS = (0.0, 0.5, 0.75, 1.0)
BITS = (8, 4, 2)


def measure(executions: int) -> dict[str, dict[str, list[float]]]:
    """Return {"dp": {noise: [accuracy per execution]}, "quantized": {bits: [...]}} for notebook 07's settings."""
    import tensorflow_federated as tff

    from helpers.algorithms import build_dp_fedavg, build_fedavg
    from studies.sample_setup import sample_setup

    _, _, model_fn, runs = sample_setup()
    results: dict[str, dict[str, list[float]]] = {
        "dp": {str(z): [] for z in NOISE_MULTIPLIERS},
        "quantized": {str(b): [] for b in BITS},
    }
    for execution in range(executions):
        for z in NOISE_MULTIPLIERS:
            process = build_dp_fedavg(model_fn, 0.1, noise_multiplier=z, clients_per_round=10, clip=1.0)
            history = runs.run(
                f"DP noise {z}, execution {execution}", process, num_rounds=10, eval_every=10, sampling="poisson"
            )
            results["dp"][str(z)].append(history["test_accuracy"][-1])
        for bits in BITS:
            aggregator = tff.aggregators.MeanFactory(
                tff.aggregators.EncodedSumFactory.quantize_above_threshold(quantization_bits=bits, threshold=0)
            )
            process = build_fedavg(model_fn, 0.1, model_aggregator=aggregator)
            history = runs.run(f"{bits}-bit, execution {execution}", process, num_rounds=10, eval_every=10)
            results["quantized"][str(bits)].append(history["test_accuracy"][-1])
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=20)
    parser.add_argument("--out", type=Path, default=HERE / "spread.json")
    args = parser.parse_args(argv)
    if args.executions < 2:
        parser.error("--executions must be at least 2: a spread needs two runs")
    results = measure(args.executions)
    args.out.write_text(json.dumps({"executions": args.executions, **results}, indent=1) + "\n")
    for group, rows in results.items():
        for key, values in rows.items():
            print(f"{group} {key}: {min(values):.3f} to {max(values):.3f} over {len(values)} executions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
