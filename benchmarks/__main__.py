"""Measure the collection: TFF's per-round overhead, cohort scaling, peak memory, and the test suite's wall time.

The measurements are here; `benchmarks/report.py` turns their results into RESULTS.md, the plot and the README block.

    uv run python -m benchmarks                 # everything (about 45 min: the suite runs 3 times)
    uv run python -m benchmarks --suite-runs 0  # skip the suite, keep its last recorded result
    uv run python -m benchmarks --smoke --out /tmp/bench   # tiny settings, for the smoke test

Writes `results.json`, `RESULTS.md` and `results.png` to `--out` (default: this folder). A full run to the default
folder also rewrites the benchmark block of the README. Nothing here asserts a speed: a slow machine must not fail.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import psutil

from benchmarks.report import plot, render_markdown, render_readme_block, update_readme

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def machine() -> dict[str, Any]:
    """Describe this machine: CPU model, cores, memory, and the library versions that matter."""
    import tensorflow as tf
    import tensorflow_federated as tff

    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "tensorflow": tf.__version__, "tff": tff.__version__,
            "date": datetime.date.today().isoformat()}


@functools.lru_cache(maxsize=1)
def _sample_train() -> Any:
    """The offline sample's train split, loaded once: every figure here is for the sample, on any machine."""
    from helpers.data import load_emnist

    return load_emnist(only_digits=True, source="sample").train


def _round_data(clients_per_round: int, num_rounds: int, seed: int) -> list[list[Any]]:
    """The preprocessed client datasets of rounds 1..num_rounds, picked as every notebook picks them."""
    from helpers.data import make_federated_data, sample_clients

    train = _sample_train()
    return [make_federated_data(train, sample_clients(train.client_ids, clients_per_round, r, seed), seed=seed)
            for r in range(1, num_rounds + 1)]


def _fedavg(element_spec: Any, client_lr: float) -> Any:
    """TFF's weighted FedAvg for the seed's linear model, SGD on clients and server (server_lr 1.0)."""
    from helpers.algorithms import build_fedavg
    from helpers.models import linear_model, make_model_fn

    return build_fedavg(make_model_fn(linear_model, element_spec), client_lr)


def time_tff_rounds(rounds: Sequence[Sequence[Any]], client_lr: float) -> tuple[list[float], list[int], list[Any]]:
    """Run TFF FedAvg over `rounds`; return each round's seconds, examples processed, and the final trainable weights."""
    process = _fedavg(rounds[0][0].element_spec, client_lr)
    state, seconds, examples = process.initialize(), [], []
    for datasets in rounds:
        start = time.perf_counter()
        output = process.next(state, list(datasets))
        seconds.append(time.perf_counter() - start)
        state = output.state
        examples.append(int(output.metrics["client_work"]["train"]["num_examples"]))
    return seconds, examples, [w.numpy() if hasattr(w, "numpy") else w for w in process.get_model_weights(state).trainable]


def time_handwritten_rounds(rounds: Sequence[Sequence[Any]], client_lr: float,
                            parallel: bool = True) -> tuple[list[float], list[Any]]:
    """The same FedAvg as a tight hand-written loop: each round is one `tf.function` of local SGD plus weighted mean.

    With `parallel`, every client slot has its own copy of the Keras model, so TensorFlow may run the clients'
    loops at the same time, as TFF's worker does; without it, one model is shared and the clients run in turn.
    """
    import tensorflow as tf

    from helpers.models import linear_model

    cohort = len(rounds[0])
    models = [linear_model() for _ in range(cohort)] if parallel else [linear_model()] * cohort
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def run_round(weights, datasets):
        deltas, counts = [], []
        for model, dataset in zip(models, datasets):
            variables = model.trainable_variables
            for variable, value in zip(variables, weights):
                variable.assign(value)
            num_examples = tf.constant(0.0)
            for batch in dataset:
                with tf.GradientTape() as tape:
                    loss = loss_fn(batch["y"], model(batch["x"], training=True))
                for variable, gradient in zip(variables, tape.gradient(loss, variables)):
                    variable.assign_sub(client_lr * gradient)
                num_examples += tf.cast(tf.shape(batch["y"])[0], tf.float32)
            deltas.append([variable - value for variable, value in zip(variables, weights)])
            counts.append(num_examples)
        total = tf.add_n(counts)
        # Weighted mean of the client deltas, applied by server SGD with learning rate 1.0, as in TFF's FedAvg.
        return [value + tf.add_n([n * d[i] for n, d in zip(counts, deltas)]) / total for i, value in enumerate(weights)]

    weights = [tf.zeros_like(v) for v in models[0].trainable_variables]  # zero-initialised, as TFF's model is
    seconds = []
    for datasets in rounds:
        start = time.perf_counter()
        weights = [w.numpy() for w in run_round(weights, list(datasets))]
        seconds.append(time.perf_counter() - start)
    return seconds, weights


def _with_context(context_factory: Optional[Callable[[], None]], fn: Callable[[], Any]) -> Any:
    """Run `fn` with a freshly installed TFF execution context (or the current one), then restore the private runtime."""
    from helpers.runtime import use_private_runtime
    from helpers.workers import release_local_worker

    if context_factory is not None:
        context_factory()
    try:
        return fn()
    finally:
        release_local_worker()  # also stops TFF's own worker of the context just used, before the next measurement
        use_private_runtime()  # between measurements, nothing listens on the network (README: Security)


def _spread(values: Sequence[float]) -> list[float]:
    """The smallest and largest of `values`, to show run-to-run variation next to a median."""
    return [min(values), max(values)]


def bench_overhead(clients_per_round: int, num_rounds: int, client_lr: float, seed: int) -> dict[str, Any]:
    """Median TFF round time against the hand-written loop on identical work, with TFF's own levers tried."""
    import numpy as np
    import tensorflow_federated as tff

    rounds = _round_data(clients_per_round, num_rounds, seed)
    hand_seconds, hand_weights = time_handwritten_rounds(rounds, client_lr, parallel=True)
    hand = statistics.median(hand_seconds[1:])
    sequential_seconds = time_handwritten_rounds(rounds, client_lr, parallel=False)[0]
    sequential = statistics.median(sequential_seconds[1:])
    spread = {"hand-written, side by side": _spread(hand_seconds[1:]),
              "hand-written, in turn": _spread(sequential_seconds[1:])}
    from helpers.runtime import use_private_runtime

    variants = {
        # TFF's own default, for comparison: its worker listens on a network port while this row is measured.
        "default local context": tff.backends.native.set_sync_local_cpp_execution_context,
        # What every notebook uses: the worker in a private network namespace, behind a Unix-socket forwarder.
        "private runtime (helpers.runtime)": use_private_runtime,
        "max_concurrent_computation_calls=1": lambda: tff.backends.native.set_sync_local_cpp_execution_context(
            max_concurrent_computation_calls=1),
        f"default_num_clients={clients_per_round}": lambda: tff.backends.native.set_sync_local_cpp_execution_context(
            default_num_clients=clients_per_round),
    }
    results, examples, max_difference = {}, None, 0.0
    for name, factory in variants.items():
        seconds, examples, weights = _with_context(factory, lambda: time_tff_rounds(rounds, client_lr))
        results[name] = statistics.median(seconds[1:])
        spread[name] = _spread(seconds[1:])
        max_difference = max(max_difference, max(float(np.max(np.abs(a - b))) for a, b in zip(weights, hand_weights)))
    # Where the time goes. (1) The input pipeline alone: read every client's batches once, in the driver.
    reading = []
    for datasets in rounds[1:]:
        start = time.perf_counter()
        for dataset in datasets:
            for _ in dataset:
                pass
        reading.append(time.perf_counter() - start)
    # (2) The fixed cost of a round: the same rounds with every client cut to one batch.
    one_batch = [[dataset.take(1) for dataset in datasets] for datasets in rounds]
    fixed_tff = statistics.median(time_tff_rounds(one_batch, client_lr)[0][1:])
    fixed_hand = statistics.median(time_handwritten_rounds(one_batch, client_lr)[0][1:])
    best = min(results, key=results.get)
    return {"clients_per_round": clients_per_round, "timed_rounds": num_rounds - 1,
            "examples_per_round": statistics.median(examples[1:]), "handwritten_s": hand,
            "handwritten_sequential_s": sequential, "tff_s": results, "best": best, "ratio": results[best] / hand,
            "ratio_default": results["default local context"] / hand, "reading_s": statistics.median(reading),
            "one_batch_tff_s": fixed_tff, "one_batch_handwritten_s": fixed_hand,
            "max_weight_difference": max_difference, "spread_s": spread}


def bench_scaling(cohorts: Sequence[int], num_rounds: int, client_lr: float, seed: int) -> dict[str, Any]:
    """Examples per second of TFF FedAvg for each cohort size (median round after one warm-up round)."""
    rows = []
    for clients_per_round in cohorts:
        rounds = _round_data(clients_per_round, num_rounds, seed)
        seconds, examples, _ = time_tff_rounds(rounds, client_lr)
        rates = [n / s for n, s in zip(examples[1:], seconds[1:])]
        rows.append({"clients_per_round": clients_per_round, "round_s": statistics.median(seconds[1:]),
                     "round_spread_s": _spread(seconds[1:]),
                     "examples_per_round": statistics.median(examples[1:]), "examples_per_s": statistics.median(rates)})
    return {"timed_rounds": num_rounds - 1, "rows": rows}


def _peak_tree_rss(command: Sequence[str], env: dict[str, str]) -> tuple[int, float, int]:
    """Run `command`; return its exit code, wall seconds, and the peak summed RSS of it and its children (bytes)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parent, peak = psutil.Process(process.pid), 0
    stderr_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()), daemon=True)
    reader.start()
    while process.poll() is None:
        try:
            tree = [parent] + parent.children(recursive=True)
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass  # a child exited between listing and reading
        time.sleep(0.1)
    reader.join()
    if process.returncode:
        sys.stderr.write(b"".join(stderr_chunks).decode(errors="replace")[-2000:])
    return process.returncode, time.perf_counter() - start, peak


def bench_memory(num_rounds: int, runs: int) -> dict[str, Any]:
    """Peak RSS (driver plus TFF's worker) of `python -m helpers.program` for `num_rounds` rounds, `runs` times."""
    peaks, walls = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as checkpoints:
            command = [sys.executable, "-m", "helpers.program", "--rounds", str(num_rounds), "--checkpoint-dir",
                       checkpoints, "--checkpoint-every", "10", "--no-progress"]
            code, wall, peak = _peak_tree_rss(command, {**os.environ, "FL_DATA": "sample"})
        if code:
            raise RuntimeError(f"The training run failed with exit code {code}; see its error output above.")
        peaks.append(peak)
        walls.append(wall)
    return {"rounds": num_rounds, "runs": runs, "peak_gib": statistics.median(peaks) / 2**30,
            "peak_gib_max": max(peaks) / 2**30, "wall_s": statistics.median(walls)}


def bench_suite(runs: int) -> dict[str, Any]:
    """Wall time of the README's test command (`pytest` on the offline sample), `runs` times."""
    walls, codes = [], []
    for i in range(runs):
        start = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", "pytest", "-q"], cwd=ROOT,
                               env={**os.environ, "FL_DATA": "sample"}, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        codes.append(code)
        print(f"  suite run {i + 1}/{runs}: {walls[-1] / 60:.1f} min, exit code {code}", flush=True)
    return {"runs": runs, "minutes": statistics.median(walls) / 60, "minutes_all": [w / 60 for w in walls],
            "all_passed": not any(codes)}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line of `python -m benchmarks`."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where to write results.json, RESULTS.md, results.png")
    parser.add_argument("--smoke", action="store_true", help="tiny settings that only check the code runs")
    parser.add_argument("--suite-runs", type=int, default=3, help="times to run the test suite (0 keeps the last result)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per timing run; the first is a warm-up")
    parser.add_argument("--memory-rounds", type=int, default=50)
    parser.add_argument("--memory-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.smoke:
        args.suite_runs, args.rounds, args.memory_rounds, args.memory_runs = 0, 3, 2, 1
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: the first round is a warm-up.")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmarks, merge them into results.json, and write RESULTS.md, the plot and the README block."""
    args = parse_args(argv)
    try:
        return _run(args)
    finally:
        from helpers.workers import release_local_worker

        release_local_worker()


def _run(args: argparse.Namespace) -> int:
    """Run the benchmarks chosen by `args`."""
    from helpers.seeds import set_seeds

    from helpers.runtime import use_private_runtime

    use_private_runtime()
    set_seeds(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "results.json"
    results = json.loads(store.read_text()) if store.is_file() else {}
    info = machine()
    cohorts = (2, 4) if args.smoke else (10, 20, 50, 100)
    print("1/4 framework overhead", flush=True)
    results["overhead"] = {**bench_overhead(cohorts[0], args.rounds, 0.1, args.seed), "machine": info}
    print("2/4 scaling with the cohort", flush=True)
    results["scaling"] = {**bench_scaling(cohorts, args.rounds, 0.1, args.seed), "machine": info}
    print("3/4 peak memory", flush=True)
    results["memory"] = {**bench_memory(args.memory_rounds, args.memory_runs), "machine": info}
    if args.suite_runs > 0:
        print(f"4/4 test suite, {args.suite_runs} runs", flush=True)
        results["suite"] = {**bench_suite(args.suite_runs), "machine": info}
    else:
        print("4/4 test suite: skipped (--suite-runs 0); keeping the last result, if any", flush=True)
    store.write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "RESULTS.md").write_text(render_markdown(results))
    plot(results, args.out / "results.png")
    if args.out.resolve() == HERE and not args.smoke:
        update_readme(render_readme_block(results))
    print((args.out / "RESULTS.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
