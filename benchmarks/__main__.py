"""Measure the collection: TFF's per-round overhead, cohort scaling, peak memory, and the test suite's wall time.

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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
README_START, README_END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
GOALS = {"overhead": 1.5, "memory_gib": 3.0, "suite_minutes": 15.0}


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


def render_markdown(results: dict[str, Any]) -> str:
    """RESULTS.md: one table per benchmark, each with its date and machine."""
    lines = ["# Benchmark results", "",
             "Written by `uv run python -m benchmarks`; do not edit by hand. Each section gives its own date and "
             "machine. Times are medians; the first round of each run also compiles and is left out.", ""]
    for key, title in (("overhead", "1. Framework overhead"), ("scaling", "2. Scaling with the cohort"),
                       ("memory", "3. Peak memory"), ("suite", "4. Test-suite wall time")):
        if key not in results:
            continue
        section, m = results[key], results[key]["machine"]
        lines += [f"## {title}", "",
                  f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; "
                  f"Python {m['python']}, TensorFlow {m['tensorflow']}, TFF {m['tff']}.", ""]
        lines += globals()[f"_md_{key}"](section) + [""]
    lines.append("![benchmark plot](results.png)")
    return "\n".join(lines) + "\n"


def _md_overhead(s: dict[str, Any]) -> list[str]:
    spread = {name: f"{low:.3f}–{high:.3f}" for name, (low, high) in s["spread_s"].items()}
    rows = [f"| TFF, {name} | {seconds:.3f} | {spread[name]} | {seconds / s['handwritten_s']:.2f}× |"
            for name, seconds in s["tff_s"].items()]
    verdict = "meets" if s["ratio"] <= GOALS["overhead"] else "misses"
    share = s["reading_s"] / s["handwritten_sequential_s"]
    fixed_gap = s["one_batch_tff_s"] - s["one_batch_handwritten_s"]
    return [
        f"One FedAvg round of {s['clients_per_round']} clients (about {s['examples_per_round']:,.0f} examples, "
        f"5 local epochs, batch 20, the seed's linear model), median of {s['timed_rounds']} timed rounds after one "
        f"warm-up round. The loops do identical work: their final weights differ by at most "
        f"{s['max_weight_difference']:.1e}. The tight hand-written loop is one `tf.function` per round that gives each "
        "client its own copy of the model, so TensorFlow can run clients side by side, as TFF's worker does.", "",
        "| loop | seconds per round (median) | fastest–slowest round | ratio to hand-written |",
        "| --- | ---: | ---: | ---: |",
        f"| hand-written `tf.function`, clients side by side | {s['handwritten_s']:.3f} | "
        f"{spread['hand-written, side by side']} | 1.00× |",
        f"| hand-written `tf.function`, clients in turn | {s['handwritten_sequential_s']:.3f} | "
        f"{spread['hand-written, in turn']} | {s['handwritten_sequential_s'] / s['handwritten_s']:.2f}× |", *rows, "",
        f"Best TFF setting: {s['best']}, **{s['ratio']:.2f}×** the hand-written round, which {verdict} the goal of "
        f"≤ {GOALS['overhead']}×. Rounds vary from one to the next (see the fastest–slowest column), so read "
        "differences between TFF settings that fall inside each other's ranges as noise.", "",
        f"Where the time goes: reading the round's data alone (iterating every client's batches once, in turn) takes "
        f"{s['reading_s']:.3f} s, {share:.0%} of the hand-written round with clients in turn. The input pipeline "
        "(SQLite reads, tf.Example parsing, the shuffle buffer) costs the same in both loops. With every client cut "
        f"to one batch, a round takes {s['one_batch_tff_s']:.3f} s in TFF and {s['one_batch_handwritten_s']:.3f} s "
        f"by hand, so TFF's fixed cost per round (serializing the computation and the dataset pipelines, gRPC to its "
        f"C++ worker) is {'about ' + format(fixed_gap, '.3f') + ' s' if fixed_gap > 0 else 'not measurable here'}."]


def _md_scaling(s: dict[str, Any]) -> list[str]:
    rows = [f"| {r['clients_per_round']} | {r['examples_per_round']:,.0f} | {r['round_s']:.2f} | "
            f"{r['round_spread_s'][0]:.2f}–{r['round_spread_s'][1]:.2f} | {r['examples_per_s']:,.0f} |" for r in s["rows"]]
    return [f"TFF FedAvg on the private runtime (helpers.runtime), median of {s['timed_rounds']} timed rounds per cohort. "
            "Examples count every example processed, over 5 local epochs.", "",
            "| clients per round | examples per round | seconds per round | fastest–slowest round | examples per second |",
            "| ---: | ---: | ---: | ---: | ---: |", *rows]


def _md_memory(s: dict[str, Any]) -> list[str]:
    verdict = "within" if s["peak_gib_max"] <= GOALS["memory_gib"] else "over"
    return [f"`python -m helpers.program --rounds {s['rounds']}` (10 clients per round, checkpoints every 10 rounds), "
            f"peak resident memory of the driver plus TFF's worker process, sampled every 0.1 s; median of "
            f"{s['runs']} runs: **{s['peak_gib']:.2f} GiB** (largest {s['peak_gib_max']:.2f} GiB), {verdict} the "
            f"goal of ≤ {GOALS['memory_gib']:.0f} GiB. One run takes {s['wall_s']:.0f} s."]


def _md_suite(s: dict[str, Any]) -> list[str]:
    verdict = "within" if s["minutes"] <= GOALS["suite_minutes"] else "over"
    status = "all passed" if s["all_passed"] else "**some failed**"
    return [f"`pytest` (the README's test command, 2 xdist workers) on the offline sample, median of {s['runs']} "
            f"runs: **{s['minutes']:.1f} min** ({', '.join(f'{m:.1f}' for m in s['minutes_all'])}; {status}), "
            f"{verdict} the goal of ≤ {GOALS['suite_minutes']:.0f} min."]


def render_readme_block(results: dict[str, Any]) -> str:
    """The README's short benchmark summary, with dates."""
    lines = ["| benchmark | result | goal | measured |", "| --- | --- | --- | --- |"]
    if "overhead" in results:
        s = results["overhead"]
        lines.append(f"| TFF round time / hand-written `tf.function` loop ({s['clients_per_round']} clients) | "
                     f"{s['ratio']:.2f}× ({s['best']}) | ≤ {GOALS['overhead']}× | {s['machine']['date']} |")
    if "scaling" in results:
        s = results["scaling"]
        rates = ", ".join(f"{r['clients_per_round']}: {r['examples_per_s']:,.0f}" for r in s["rows"])
        lines.append(f"| examples per second by clients per round | {rates} | | {s['machine']['date']} |")
    if "memory" in results:
        s = results["memory"]
        lines.append(f"| peak RSS of a {s['rounds']}-round training run | {s['peak_gib']:.2f} GiB | "
                     f"≤ {GOALS['memory_gib']:.0f} GiB | {s['machine']['date']} |")
    if "suite" in results:
        s = results["suite"]
        lines.append(f"| wall time of `uv run pytest` | {s['minutes']:.1f} min | ≤ {GOALS['suite_minutes']:.0f} min "
                     f"| {s['machine']['date']} |")
    m = next(iter(results.values()))["machine"]
    lines += ["", f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, no GPU. Medians of at least 3 "
              "runs or rounds; details and the plot in [benchmarks/RESULTS.md](benchmarks/RESULTS.md)."]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Two panels: seconds per round, TFF against hand-written; examples per second against cohort size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if "overhead" in results:
        s = results["overhead"]
        names = ["hand-written, side by side", "hand-written, in turn"] + [f"TFF, {name}" for name in s["tff_s"]]
        values = [s["handwritten_s"], s["handwritten_sequential_s"]] + list(s["tff_s"].values())
        left.barh(names, values, color=["tab:green"] * 2 + ["tab:blue"] * len(s["tff_s"]))
        left.set_xlabel("seconds per round (median)")
        left.set_title(f"One FedAvg round, {s['clients_per_round']} clients")
    if "scaling" in results:
        rows = results["scaling"]["rows"]
        right.plot([r["clients_per_round"] for r in rows], [r["examples_per_s"] for r in rows], "o-")
        right.set_xlabel("clients per round")
        right.set_ylabel("examples per second")
        right.set_ylim(bottom=0)
        right.set_title("TFF FedAvg throughput")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def update_readme(block: str, readme: Path = ROOT / "README.md") -> None:
    """Replace the text between the README's benchmark markers with `block`."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise RuntimeError(f"{readme} has no {README_START} ... {README_END} block to update.")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{block}\n{README_END}{tail}")


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
