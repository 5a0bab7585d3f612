"""The reports of `python -m benchmarks`: RESULTS.md, the README's summary block and the plot, from results.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
README_START, README_END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
GOALS = {"overhead": 1.5, "memory_gib": 3.0, "suite_minutes": 15.0}


def render_markdown(results: dict[str, Any]) -> str:
    """RESULTS.md: one table per benchmark, each with its date and machine."""
    lines = ["# Benchmark results", "",
             "Written by `uv run python -m benchmarks`; do not edit by hand. Each section gives its own date and "
             "machine. Times are medians; the first round of each run also compiles and is left out.", ""]
    for key, (title, render) in SECTIONS.items():
        if key not in results:
            continue
        section, m = results[key], results[key]["machine"]
        lines += [f"## {title}", "",
                  f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; "
                  f"Python {m['python']}, TensorFlow {m['tensorflow']}, TFF {m['tff']}.", ""]
        lines += render(section) + [""]
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


# RESULTS.md's sections, in order: the key in results.json, the heading, and the function that writes the body.
SECTIONS: dict[str, tuple[str, Callable[[dict[str, Any]], list[str]]]] = {
    "overhead": ("1. Framework overhead", _md_overhead),
    "scaling": ("2. Scaling with the cohort", _md_scaling),
    "memory": ("3. Peak memory", _md_memory),
    "suite": ("4. Test-suite wall time", _md_suite),
}


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
