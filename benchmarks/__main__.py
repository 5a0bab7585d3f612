"""Measure the collection: a round against a baseline and a floor, cohort scaling, memory, notebook and test times.

The measurements are here; `benchmarks/results.py` types their results and `benchmarks/report.py` turns them into
RESULTS.md, the plot and the summary block of CONTRIBUTING.md.

    uv run python -m benchmarks                        # everything (about 100 min: the suite runs 3 times)
    uv run python -m benchmarks --only round_cost soak # some sections; the others keep their last results
    uv run python -m benchmarks --only notebooks quick # each notebook alone, and the quick test loop
    uv run python -m benchmarks --only imports         # importing TFF, with and without compiled modules
    uv run python -m benchmarks --smoke --out /tmp/bench   # tiny settings, for the smoke test

Writes `results.json`, `RESULTS.md` and `results.png` to `--out` (default: this folder). A full run to the default
folder also rewrites the benchmark block of CONTRIBUTING.md. Nothing here asserts a speed: a slow machine must not fail.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import psutil

from benchmarks.memory import TreeRss
from benchmarks.report import COLD, MATERIALISED, UNCACHED, plot, render_markdown, render_readme_block, update_readme
from benchmarks.results import (
    Imports,
    Loop,
    Machine,
    Memory,
    Notebooks,
    NotebookTime,
    Results,
    RoundCost,
    Scaling,
    ScalingRow,
    Soak,
    SoakCurve,
    SoakPoint,
    Suite,
    Timing,
)
from helpers.client_cache import ClientCache

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def machine() -> Machine:
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
    return Machine(
        cpu=model,
        cores=os.cpu_count() or 1,
        memory_gib=round(psutil.virtual_memory().total / 2**30, 1),
        python=platform.python_version(),
        tensorflow=tf.__version__,
        tff=tff.__version__,
        date=datetime.date.today().isoformat(),
    )


@functools.lru_cache(maxsize=1)
def _sample_train() -> Any:
    """The offline sample's train split, loaded once: every figure here is for the sample, on any machine."""
    from helpers.data import load_emnist

    return load_emnist(only_digits=True, source="sample").train


def _round_ids(clients_per_round: int, num_rounds: int, seed: int) -> list[list[str]]:
    """The cohorts of rounds 1..num_rounds, picked as every notebook picks them."""
    from helpers.data import sample_clients

    return [sample_clients(_sample_train().client_ids, clients_per_round, r, seed) for r in range(1, num_rounds + 1)]


def _round_data(cohorts: Sequence[Sequence[str]], seed: int) -> list[list[Any]]:
    """Each cohort's preprocessed datasets, read from SQLite by TFF's ClientData, as the notebooks read them."""
    from helpers.data import make_federated_data

    return [make_federated_data(_sample_train(), cohort, seed=seed) for cohort in cohorts]


def _round_data_in_memory(cohorts: Sequence[Sequence[str]], seed: int) -> list[list[Any]]:
    """The same datasets, but each client's examples are read once and held in memory (`from_tensor_slices`).

    The pipeline after the source is `helpers.data.preprocess`, unchanged, so the batches are the same ones.
    """
    import tensorflow as tf

    from helpers.data import preprocess
    from helpers.partitions import pool_examples

    arrays: dict[str, dict[str, Any]] = {}
    rounds = []
    for cohort in cohorts:
        for client in cohort:
            if client not in arrays:
                pixels, labels = pool_examples(_sample_train(), [client])
                arrays[client] = {"label": labels, "pixels": pixels}
        rounds.append([preprocess(tf.data.Dataset.from_tensor_slices(arrays[c]), seed=seed) for c in cohort])
    return rounds


def _fedavg(element_spec: Any, client_lr: float, loop_implementation: Any = None) -> Any:
    """The notebooks' FedAvg (`build_fedavg`) on the seed's linear model, by default with TFF's default loop."""
    import tensorflow_federated as tff

    from helpers.algorithms import build_fedavg
    from helpers.models import linear_model, make_model_fn

    loop = loop_implementation or tff.learning.LoopImplementation.DATASET_REDUCE
    return build_fedavg(make_model_fn(linear_model, element_spec), client_lr, loop_implementation=loop)


def time_tff_rounds(
    rounds: Sequence[Sequence[Any]],
    client_lr: float,
    loop_implementation: Any = None,
    by_id: bool = False,
    seed: int = 0,
    cache: Optional[ClientCache] = None,
    materialised: bool = False,
) -> tuple[list[float], list[int], list[Any]]:
    """Run TFF FedAvg over `rounds`; return each round's seconds, examples processed, and the final trainable weights.

    With `by_id`, `rounds` hold client ids and TFF builds each client's dataset from its id inside its runtime, as
    `helpers.runs.train` has it, keeping each client's examples in `cache` after its first read if one is given;
    otherwise they hold the datasets themselves. With `materialised`, the clients train with the loop of
    `benchmarks/client_loop.py` instead of `build_fedavg`'s.
    """
    import tensorflow_federated as tff

    from benchmarks.client_loop import materialised_client_loop
    from helpers.algorithms import build_fedavg
    from helpers.data import client_dataset_computation
    from helpers.models import linear_model, make_model_fn

    if by_id:
        spec = _round_data([rounds[0][:1]], seed)[0][0].element_spec  # one client's dataset, for its structure
        cache_dir = cache.folder_for(_sample_train()) if cache is not None else None
        dataset_computation = client_dataset_computation(_sample_train(), cache_dir, seed=seed)
        with materialised_client_loop() if materialised else contextlib.nullcontext():
            fedavg = build_fedavg(make_model_fn(linear_model, spec), client_lr)  # the notebooks' builder
        process = tff.simulation.compose_dataset_computation_with_learning_process(dataset_computation, fedavg)
    else:
        process = _fedavg(rounds[0][0].element_spec, client_lr, loop_implementation)
    state, seconds, examples = process.initialize(), [], []
    for datasets in rounds:
        start = time.perf_counter()
        output = process.next(state, list(datasets))
        seconds.append(time.perf_counter() - start)
        state = output.state
        examples.append(int(output.metrics["client_work"]["train"]["num_examples"]))
    return (
        seconds,
        examples,
        [w.numpy() if hasattr(w, "numpy") else w for w in process.get_model_weights(state).trainable],
    )


def time_per_client_loop(rounds: Sequence[Sequence[Any]], client_lr: float) -> tuple[list[float], list[Any]]:
    """FedAvg as one `tf.function` per round that loops over each client's tf.data batches, as TFF's clients do.

    Every client slot has its own copy of the Keras model, so TensorFlow may run the clients' loops side by side.
    """
    import tensorflow as tf

    from helpers.models import linear_model

    models = [linear_model() for _ in rounds[0]]
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


def _pack(datasets: Sequence[Any], max_steps: int, batch_size: int) -> tuple[Any, Any, Any, int]:
    """A round's batches as arrays [client, step, example, ...], zero-padded, with a mask of the real examples."""
    import numpy as np

    x = np.zeros((len(datasets), max_steps, batch_size, 784), np.float32)
    y = np.zeros((len(datasets), max_steps, batch_size), np.int32)
    mask = np.zeros((len(datasets), max_steps, batch_size), np.float32)
    steps = 0
    for c, dataset in enumerate(datasets):
        for s, batch in enumerate(dataset.as_numpy_iterator()):
            n = len(batch["y"])
            x[c, s, :n], y[c, s, :n], mask[c, s, :n] = batch["x"], batch["y"][:, 0], 1.0
            steps = max(steps, s + 1)
    return x, y, mask, steps


def time_compiled_rounds(
    rounds: Sequence[Sequence[Any]], client_lr: float, together: bool = True, batch_size: int = 20
) -> tuple[list[float], list[Any]]:
    """Plain-TF FedAvg rounds as one XLA-compiled function each, the round's batches in memory as arrays.

    The arrays are packed before the clock starts. With `together`, step s of every client runs as one batched
    matrix product, and a client with fewer batches is masked out of the steps it does not have (the fastest round
    found for this work); otherwise the clients' loops run one after another inside the same compiled function.
    The gradient of the mean cross-entropy of a softmax layer is written out, (p - onehot(y)) x / n, as Keras has it.
    """
    import tensorflow as tf

    counts = [[sum(1 for _ in dataset) for dataset in datasets] for datasets in rounds]
    max_steps = max(max(c) for c in counts)
    packed = [_pack(datasets, max_steps, batch_size) for datasets in rounds]

    @tf.function(jit_compile=True)
    def run_round(kernel, bias, x, y, mask, num_steps):
        clients = tf.shape(x)[0]
        kernels, biases = tf.tile(kernel[None], [clients, 1, 1]), tf.tile(bias[None], [clients, 1])

        def step(s, kernels, biases):
            m = mask[:, s]
            probabilities = tf.nn.softmax(tf.einsum("cbi,cio->cbo", x[:, s], kernels) + biases[:, None, :])
            n = tf.maximum(tf.reduce_sum(m, 1), 1.0)
            grad = (probabilities - tf.one_hot(y[:, s], 10)) * m[..., None] / n[:, None, None]
            return (
                s + 1,
                kernels - client_lr * tf.einsum("cbi,cbo->cio", x[:, s], grad),
                biases - client_lr * tf.reduce_sum(grad, 1),
            )

        _, kernels, biases = tf.while_loop(lambda s, *_: s < num_steps, step, (tf.constant(0), kernels, biases))
        examples = tf.reduce_sum(mask, [1, 2])
        share = examples / tf.reduce_sum(examples)  # FedAvg's example-weighted mean, server SGD at 1.0
        return tf.einsum("c,cio->io", share, kernels), tf.einsum("c,co->o", share, biases)

    @tf.function(jit_compile=True)
    def run_round_in_turn(kernel, bias, x, y, mask, num_steps):
        kernels, biases = [], []
        for c in range(len(rounds[0])):  # unrolled: each client's loop on its own
            k, b = run_round.python_function(kernel, bias, x[c : c + 1], y[c : c + 1], mask[c : c + 1], num_steps[c])
            kernels.append(k)
            biases.append(b)
        examples = tf.reduce_sum(mask, [1, 2])
        share = examples / tf.reduce_sum(examples)
        return tf.einsum("c,cio->io", share, tf.stack(kernels)), tf.einsum("c,co->o", share, tf.stack(biases))

    kernel, bias, seconds = tf.zeros([784, 10]), tf.zeros([10]), []
    for (x, y, mask, steps), client_steps in zip(packed, counts):
        start = time.perf_counter()
        if together:
            kernel, bias = run_round(kernel, bias, x, y, mask, tf.constant(steps))
        else:
            kernel, bias = run_round_in_turn(kernel, bias, x, y, mask, tf.constant(client_steps))
        kernel.numpy()
        seconds.append(time.perf_counter() - start)
    return seconds, [kernel.numpy(), bias.numpy()]


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    """This machine's float32 matrix-product throughput (GFLOP/s): the median of `repeats` size x size products."""
    import tensorflow as tf

    a = tf.random.stateless_normal([size, size], seed=[0, 0])
    product = tf.function(lambda m: tf.matmul(m, m))
    product(a).numpy()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(a).numpy()
        seconds.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(seconds) / 1e9


def _fresh_worker_after(fn: Callable[[], Any]) -> Any:
    """Run `fn` on the current TFF context, then stop its worker and restore the private runtime for the next one."""
    from helpers.runtime import release_local_worker, use_private_runtime

    try:
        return fn()
    finally:
        release_local_worker()  # also stops TFF's own worker of the context just used, before the next measurement
        use_private_runtime()  # between measurements, nothing listens on the network (SECURITY.md)


def _timing(timed: Sequence[float]) -> Timing:
    """Median, fastest and slowest of the timed rounds (callers leave out each run's first round, which compiles)."""
    return Timing(statistics.median(timed), min(timed), max(timed))


NOTEBOOKS = (
    "TFF, as the notebooks run it (helpers.runs.train: TFF builds each dataset from the client's id and keeps "
    "its examples in a file after the first read, helpers.client_cache; helpers.algorithms.build_fedavg: "
    "DATASET_ITERATOR), every client already read once"
)


def bench_round_cost(
    clients_per_round: int, num_rounds: int, client_lr: float, seed: int, *, variant_runs: int = 2
) -> RoundCost:
    """Median TFF round time against the fastest plain-TF loop for the same work, and against the arithmetic floor.

    Each TFF variant runs `variant_runs` times, interleaved with the others.
    """
    import numpy as np

    cohorts = _round_ids(clients_per_round, num_rounds, seed)
    rounds = _round_data(cohorts, seed)
    loops, weights = [], {}

    def record(name: str, kind: str, seconds: Sequence[float], final: Any) -> None:
        loops.append(Loop(name, kind, _timing(seconds[1:])))
        weights[name] = final

    record(
        "plain TF, all clients at once, one XLA function, data in memory",
        "plain TF",
        *time_compiled_rounds(rounds, client_lr),
    )
    record(
        "plain TF, clients in turn, one XLA function, data in memory",
        "plain TF",
        *time_compiled_rounds(rounds, client_lr, together=False),
    )
    record(
        "plain TF, one tf.function, a loop over each client's tf.data batches",
        "plain TF",
        *time_per_client_loop(rounds, client_lr),
    )
    warm = ClientCache()
    try:
        _fresh_worker_after(lambda: time_tff_rounds(cohorts, client_lr, by_id=True, seed=seed, cache=warm))  # fills it
        seconds, examples = _time_tff_variants(cohorts, rounds, client_lr, seed, warm, weights, variant_runs)
    finally:
        warm.remove()
    for name, measured in seconds.items():
        loops.append(Loop(name, "tff", _timing(measured)))
    baseline = min((loop for loop in loops if loop.kind == "plain TF"), key=lambda loop: loop.timing.median_s).name
    reference = weights[baseline]
    difference = max(float(np.max(np.abs(a - b))) for final in weights.values() for a, b in zip(final, reference))
    steps = statistics.median(sum(sum(1 for _ in dataset) for dataset in datasets) for datasets in rounds[1:])
    examples_per_round = statistics.median(examples[1:])
    # A dense softmax layer costs 2*784*10 FLOPs per example forward and as many for the weight gradient.
    return RoundCost(
        clients_per_round=clients_per_round,
        timed_rounds=num_rounds - 1,
        examples_per_round=examples_per_round,
        batch_steps_per_round=steps,
        flops_per_round=examples_per_round * 4 * 784 * 10,
        matmul_gflops=matmul_gflops(),
        loops=loops,
        baseline=baseline,
        notebooks=NOTEBOOKS,
        max_weight_difference=difference,
        machine=machine(),
        variant_runs=variant_runs,
    )


def _time_tff_variants(
    cohorts: Sequence[Sequence[str]],
    rounds: Sequence[Sequence[Any]],
    client_lr: float,
    seed: int,
    warm: ClientCache,
    weights: dict[str, Any],
    variant_runs: int,
) -> tuple[dict[str, list[float]], list[int]]:
    """Each TFF variant's timed rounds (`variant_runs` runs each, interleaved) and the examples per round.

    The final weights of each variant go in `weights`.
    """
    import tensorflow_federated as tff

    iterator = tff.learning.LoopImplementation.DATASET_ITERATOR
    variants = {
        NOTEBOOKS: dict(rounds=cohorts, by_id=True, seed=seed, cache=warm),
        MATERIALISED: dict(rounds=cohorts, by_id=True, seed=seed, cache=warm, materialised=True),
        COLD: dict(rounds=cohorts, by_id=True, seed=seed),  # given a new, empty cache at each run below
        UNCACHED: dict(rounds=cohorts, by_id=True, seed=seed),
        "TFF, datasets built in the notebook's process from SQLite": dict(rounds=rounds),
        "TFF, the same, loop_implementation=DATASET_ITERATOR": dict(rounds=rounds, loop_implementation=iterator),
        "TFF, client data held in memory (from_tensor_slices)": dict(rounds=_round_data_in_memory(cohorts, seed)),
    }
    # Each variant runs more than once, interleaved with the others, so that a slow spell of the machine hits them all
    # alike (once in a smoke run, which times nothing).
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    examples: list[int] = []
    for _ in range(variant_runs):
        for name, kwargs in variants.items():
            fresh = ClientCache() if name == COLD else None
            run = dict(kwargs, cache=fresh) if fresh is not None else kwargs
            try:
                measured, examples, final = _fresh_worker_after(lambda: time_tff_rounds(client_lr=client_lr, **run))
            finally:
                if fresh is not None:
                    fresh.remove()
            seconds[name] += measured[1:]
            weights[name] = final
    return seconds, examples


def bench_scaling(cohorts: Sequence[int], num_rounds: int, client_lr: float, seed: int) -> Scaling:
    """Examples per second of TFF FedAvg, as the notebooks run it, for each cohort size.

    Each is the median round after one warm-up.

    Each cohort size runs twice on one cache, and only the second run is timed: every client has then been read once.
    """
    rows = []
    for clients_per_round in cohorts:
        cohort_ids = _round_ids(clients_per_round, num_rounds, seed)
        cache = ClientCache()
        try:
            for _ in range(2):
                seconds, examples, _ = time_tff_rounds(cohort_ids, client_lr, by_id=True, seed=seed, cache=cache)
        finally:
            cache.remove()
        rows.append(ScalingRow(clients_per_round, statistics.median(examples[1:]), _timing(seconds[1:])))
    return Scaling(num_rounds - 1, rows, machine())


def _peak_tree_rss(command: Sequence[str], env: dict[str, str]) -> tuple[int, float, int]:
    """Run `command`; return its exit code, wall seconds, and the peak summed RSS of it and its children (bytes)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watcher = TreeRss(process.pid, interval=0.1)
    stderr = process.stderr.read()  # until the process closes it, as it exits
    process.wait()
    peak = watcher.stop()
    if process.returncode:
        sys.stderr.write(stderr.decode(errors="replace")[-2000:])
    return process.returncode, time.perf_counter() - start, peak


def _program_command(num_rounds: int, checkpoint_dir: str, every: int) -> list[str]:
    """`python -m helpers.program` for `num_rounds` rounds, saving every `every` rounds, without a progress bar."""
    return [sys.executable, "-m", "helpers.program", "--rounds", str(num_rounds), "--checkpoint-dir", checkpoint_dir,
            "--checkpoint-every", str(every), "--no-progress"]  # fmt: skip


def bench_memory(num_rounds: int, runs: int) -> Memory:
    """Peak RSS (driver plus TFF's worker) of `python -m helpers.program` for `num_rounds` rounds, `runs` times."""
    peaks, walls = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as checkpoints:
            command = _program_command(num_rounds, checkpoints, every=10)
            code, wall, peak = _peak_tree_rss(command, {**os.environ, "FL_DATA": "sample"})
        if code:
            raise RuntimeError(f"The training run failed with exit code {code}; see its error output above.")
        peaks.append(peak)
        walls.append(wall)
    return Memory(
        rounds=num_rounds,
        runs=runs,
        peak_gib=statistics.median(peaks) / 2**30,
        peak_gib_max=max(peaks) / 2**30,
        wall_s=statistics.median(walls),
        machine=machine(),
    )


SAVED = "Saved the state after round "


def soak_curve(source: str, num_rounds: int, every: int) -> SoakCurve:
    """Run `python -m helpers.program` for `num_rounds` rounds on `source` ("sample" or "emnist"); sample its RSS.

    The program prints a line at every checkpoint (`every` rounds); the RSS of the driver plus its TFF worker is read
    at each of them, and a thread tracks the peak in between (every 0.5 s).
    """
    from helpers.data import load_emnist

    clients = len(load_emnist(source=source).train.client_ids)
    with tempfile.TemporaryDirectory() as checkpoints:
        command = _program_command(num_rounds, checkpoints, every)
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "FL_DATA": source},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        watcher, points = TreeRss(process.pid, interval=0.5), []
        for line in process.stdout:
            if line.startswith(SAVED):
                rss = watcher.sample()
                points.append(
                    SoakPoint(
                        int(line[len(SAVED) :].rstrip(".\n")),
                        time.perf_counter() - start,
                        rss / 2**30,
                        watcher.peak / 2**30,
                    )
                )
                print(f"  {source}: round {points[-1].round}, {points[-1].rss_gib:.2f} GiB", flush=True)
        watcher.stop()
        if process.wait():
            raise RuntimeError(f"The {source} soak run failed with exit code {process.returncode}.")
    return SoakCurve(source=source, clients=clients, clients_per_round=10, points=points)


def bench_soak(num_rounds: int, every: int, sources: Sequence[str]) -> Soak:
    """Memory over a long run, on each data source in `sources`."""
    return Soak(
        rounds=num_rounds, curves=[soak_curve(source, num_rounds, every) for source in sources], machine=machine()
    )


def _learner_env() -> dict[str, str]:
    """This process's environment as on a learner's machine, where Python keeps the modules it compiles: this machine's
    shell sets PYTHONDONTWRITEBYTECODE, which would make every process compile TensorFlow and TFF again."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time_pytest(runs: int, command: Sequence[str], cwd: Path, label: str) -> tuple[list[float], list[int]]:
    """Run a pytest command `runs` times on the offline sample; return the wall times and exit codes."""
    walls, codes = [], []
    for i in range(runs):
        start = time.perf_counter()
        env = {k: v for k, v in _learner_env().items() if k != "VIRTUAL_ENV"}  # a clone's `uv run` uses its own .venv
        code = subprocess.call(list(command), cwd=cwd, env={**env, "FL_DATA": "sample"}, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        codes.append(code)
        print(f"  {label} run {i + 1}/{runs}: {walls[-1] / 60:.1f} min, exit code {code}", flush=True)
    return walls, codes


def bench_suite(runs: int) -> Suite:
    """Wall time of the README's test command in a clean clone of HEAD, as a new user runs it: `uv run pytest`."""
    commit = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True).strip()
    walls, codes = [], []
    for _ in range(runs):  # a new clone each time: no .venv, no caches of an earlier run
        with tempfile.TemporaryDirectory(prefix="suite-") as folder:
            clone = Path(folder) / "clone"
            subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
            wall, code = _time_pytest(1, ["uv", "run", "pytest", "-q"], clone, "suite")
            walls += wall
            codes += code
    return _suite(walls, codes, commit)


def bench_quick(runs: int) -> Suite:
    """Wall time of the quick loop, `pytest -m "not slow"`, in the working tree."""
    walls, codes = _time_pytest(runs, [sys.executable, "-m", "pytest", "-q", "-m", "not slow"], ROOT, "quick loop")
    return _suite(walls, codes)


def _suite(walls: Sequence[float], codes: Sequence[int], commit: str = "") -> Suite:
    """A test command's section from its runs' wall times (s) and exit codes."""
    return Suite(
        runs=len(walls),
        minutes=statistics.median(walls) / 60,
        minutes_all=[w / 60 for w in walls],
        all_passed=not any(codes),
        machine=machine(),
        commit=commit,
    )


def bench_notebooks(names: Sequence[str] = ()) -> Notebooks:
    """Each notebook (or those in `names`) executed alone on the offline sample, by `tools/run_standin.py --sample`,
    which keeps the runs in benchmarks/sample.json; the README's table takes its memory column from there."""
    from tools import make_nav, run_standin
    from tools.repo import notebooks

    paths = [p for p in notebooks() if not names or p.name in names]
    run_standin.main(["--sample", *map(str, paths)])
    make_nav.main([])  # else the quick loop's test_generated_navigation_is_current fails on the new peaks
    records = json.loads(run_standin.SAMPLE_RESULTS.read_text())
    rows = [
        NotebookTime(p.name, records[p.name]["seconds"], records[p.name]["passed"], records[p.name]["peak_gib"])
        for p in paths
    ]
    return Notebooks(rows=rows, machine=machine())


def bench_imports(runs: int) -> Imports:
    """Seconds to `import tensorflow_federated` in a new process: with the compiled modules Python keeps (as on a
    learner's machine after the first import), and with none (each process compiles them again)."""
    env = _learner_env()

    def seconds(env: dict[str, str]) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import tensorflow_federated"], env=env, check=True, capture_output=True)
        return round(time.perf_counter() - start, 2)

    seconds(env)  # compiles and keeps what is missing
    cached, uncached = [], []
    for _ in range(runs):
        cached.append(seconds(env))
        with tempfile.TemporaryDirectory(prefix="pycache-") as empty:
            # An empty PYTHONPYCACHEPREFIX hides the compiled modules, and PYTHONDONTWRITEBYTECODE keeps it empty.
            uncached.append(seconds({**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": empty}))
    return Imports(runs=runs, cached_s=cached, uncached_s=uncached, machine=machine())


SECTION_NAMES = ("round_cost", "scaling", "memory", "soak", "suite", "notebooks", "quick", "imports")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line of `python -m benchmarks`."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where to write results.json, RESULTS.md, results.png")
    parser.add_argument("--smoke", action="store_true", help="tiny settings that only check the code runs")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTION_NAMES,
        default=list(SECTION_NAMES),
        help="measure these sections; the others keep their last results",
    )
    parser.add_argument("--suite-runs", type=int, default=3, help="times to run the test suite, each in a new clone")
    parser.add_argument("--quick-runs", type=int, default=3, help='times to run the quick loop, -m "not slow"')
    parser.add_argument("--import-runs", type=int, default=3, help="times to import TFF, with and without bytecode")
    parser.add_argument("--rounds", type=int, default=11, help="rounds per timing run; the first is a warm-up")
    parser.add_argument(
        "--variant-runs", type=int, default=2, help="interleaved runs of each TFF variant in the round-cost section"
    )
    parser.add_argument("--memory-rounds", type=int, default=50)
    parser.add_argument("--memory-runs", type=int, default=3)
    parser.add_argument("--soak-rounds", type=int, default=500)
    parser.add_argument(
        "--soak-sources",
        nargs="+",
        default=["sample", "emnist"],
        help="data sources of the soak runs; emnist needs ~/.tff/emnist_all.sqlite (or the stand-in)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.variant_runs, args.memory_rounds, args.memory_runs, args.soak_rounds = 3, 1, 2, 1, 4
        args.soak_sources = ["sample"]
        args.only = [name for name in args.only if name not in ("suite", "notebooks", "quick", "imports")]
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: the first round is a warm-up.")
    if args.variant_runs < 1:
        parser.error("--variant-runs must be at least 1.")
    if "suite" in args.only and args.suite_runs < 1:
        parser.error("--suite-runs must be at least 1; leave the suite out with --only.")
    if "quick" in args.only and args.quick_runs < 1:
        parser.error("--quick-runs must be at least 1; leave the quick loop out with --only.")
    if "imports" in args.only and args.import_runs < 1:
        parser.error("--import-runs must be at least 1; leave the imports out with --only.")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmarks, merge them into results.json, and write RESULTS.md, the plot and CONTRIBUTING.md's block."""
    args = parse_args(argv)
    from helpers.logs import quiet_library_noise

    quiet_library_noise()  # before TensorFlow loads: its CUDA-plugin and oneDNN lines say nothing here
    try:
        return _run(args)
    finally:
        from helpers.runtime import release_local_worker

        release_local_worker()


def _run(args: argparse.Namespace) -> int:
    """Run the benchmark sections chosen by `args`."""
    from helpers.runtime import use_private_runtime
    from helpers.seeds import set_seeds

    use_private_runtime()
    set_seeds(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "results.json"
    results = Results.load(store)
    cohorts = (2, 4) if args.smoke else (10, 20, 50, 100)
    measure = {
        "round_cost": lambda: bench_round_cost(cohorts[0], args.rounds, 0.1, args.seed, variant_runs=args.variant_runs),
        "scaling": lambda: bench_scaling(cohorts, args.rounds, 0.1, args.seed),
        "memory": lambda: bench_memory(args.memory_rounds, args.memory_runs),
        "soak": lambda: bench_soak(args.soak_rounds, max(1, args.soak_rounds // 10), args.soak_sources),
        "suite": lambda: bench_suite(args.suite_runs),
        "notebooks": bench_notebooks,
        "quick": lambda: bench_quick(args.quick_runs),
        "imports": lambda: bench_imports(args.import_runs),
    }
    for number, name in enumerate(SECTION_NAMES, 1):
        if name in args.only:
            print(f"{number}/{len(SECTION_NAMES)} {name}", flush=True)
            setattr(results, name, measure[name]())
            results.save(store)  # a long run keeps what it has measured so far
    (args.out / "RESULTS.md").write_text(render_markdown(results))
    plot(results, args.out / "results.png")
    if args.out.resolve() == HERE and not args.smoke:
        update_readme(render_readme_block(results))
    print((args.out / "RESULTS.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
