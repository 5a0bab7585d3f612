"""Write docs/RESULTS.md from what ran: the notebooks' key outputs and the committed JSON results. Never typed by hand.

    uv run python tools/make_results.py            # rewrite docs/RESULTS.md
    uv run python tools/make_results.py --check    # exit 1 if docs/RESULTS.md is stale (writes nothing)

A notebook cell whose metadata tags include `key-result` contributes its printed output, verbatim. The run-to-run
spread of the unseeded runs comes from studies/spread.json and studies/attack_spread.json, and the full-size
results from benchmarks/standin.json (the mild stand-in) and benchmarks/standin_strong.json (the strong one). Next to
each study's range stands what the committed execution of the notebook printed (`COMMITTED`), marked "outside" where
it lies outside the study's runs.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import generated  # noqa: E402  (one writer for generated files)
import repo  # noqa: E402  (where the notebooks are)
import run_standin  # noqa: E402  (tools/ is not a package; its code_sha says which code a stand-in run ran)

NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = repo.notebooks()
PAGE = ROOT / "docs" / "RESULTS.md"
STANDINS = (("mild", ROOT / "benchmarks" / "standin.json"), ("strong", ROOT / "benchmarks" / "standin_strong.json"))
WALL_TIME = re.compile(r", \d+ s$")  # the run lines end in their wall time, which differs on every execution


def _stdout(cell: dict) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("name") == "stdout")


def notebook_section(path: Path) -> list[str]:
    """The notebook's title and the printed output of its `key-result` cells."""
    cells = json.loads(path.read_text())["cells"]
    title = "".join(cells[0]["source"]).splitlines()[0].lstrip("# ").strip()
    lines = [f"## {title}", "", f"[{path.name}](../notebooks/{path.name})", ""]
    for cell in cells:
        if "key-result" in cell["metadata"].get("tags", []):
            text = "\n".join(WALL_TIME.sub("", line.rstrip()) for line in _stdout(cell).strip().splitlines())
            lines += ["```text", text, "```", ""]
    return lines


def _span(values: list[float]) -> str:
    return f"{min(values):.3f} – {max(values):.3f}" if min(values) != max(values) else f"{values[0]:.3f}"


NOT_FOUND = "not found"
_NUM = r"\d+(?:\.\d+)?"
_RANGE = rf"{_NUM}(?:-{_NUM})?"  # one run, or the lowest-highest of a notebook's repeats, as 10 prints them


@functools.cache  # the spread tables ask for notebook 10's output once per row and column
def notebook_outputs(number: str) -> str:
    """The printed (stdout) output of notebook `number` ("07"), all cells, as committed."""
    path = next((p for p in NOTEBOOKS if p.name.startswith(number)), None)
    return "" if path is None else "\n".join(_stdout(c) for c in json.loads(path.read_text())["cells"])


def committed(number: str, pattern: str, group: int = 1) -> list[str]:
    """What the committed notebook `number` printed in group `group` of each line that `pattern` matches: one run
    ("0.561"), the lowest-highest of its repeats ("0.552-0.598") or each repeat ("14, 14, 14"); empty if no line
    matches (the notebook changed what it prints)."""
    return [m.group(group) for m in re.finditer(pattern, notebook_outputs(number), re.M)]


def beside(study: list[float], printed: list[str], decimals: int = 3) -> str:
    """The committed runs as printed, marked "outside" when one lies outside the study's range at `decimals`."""
    if not printed:
        return NOT_FOUND
    values = [float(v) for text in printed for v in re.split(r"-|,\s*", text) if v]
    low, high = round(min(study), decimals), round(max(study), decimals)
    outside = any(not low <= round(v, decimals) <= high for v in values)
    return "; ".join(text.replace("-", " – ") for text in printed) + (" (outside)" if outside else "")


# Where each row's committed runs are printed: notebook, and a line pattern whose group 1 holds them.
COMMITTED = {
    "dp": ("07", r"^DP noise {key}\s+test accuracy ({num}) after"),
    "quantized": ("08", r"^FedAvg, {key}-bit updates\s+test accuracy ({num}) after"),
    # notebook 10's tables: noise, ε, test accuracy, example AUC, its advantage, writer AUC; and the audit's (its last
    # column, the canaries guessed right in every repeat, is not a study row)
    "membership": ("10", r"^\s*{key}\s+(?:inf|none|{num})\s+({range})\s+({range})\s+{range}\s+({range})\s"),
    "audit": ("10", r"^\s*{key}\s+(?:inf|{num})\s+(\d+(?:, \d+)*)\s+({num}(?:, {num})*)(?:\s+\d+)?\s*$"),
}
TEXT_SEEDS_COMMITTED = {  # notebook 14's printed lines, by the row of studies/text_seeds.json's summary
    "central, 1 epoch": r"^epoch 1: validation accuracy ({num})",
    "central, 2 epochs": r"^epoch 2: validation accuracy ({num})",
    "FedAvg, 10 rounds": r"^after 10 rounds: .*from scratch ({num})",
    "fine-tuned, before round 1": r"^validation accuracy before round 1: from the other plays ({num})",
    "fine-tuned, 10 rounds": r"^after 10 rounds: from the other plays ({num})",
}


def committed_runs(kind: str, key: str, group: int = 1) -> list[str]:
    """The committed runs of row `key` ("0.5", "8", "none") of table `kind`, from `COMMITTED`."""
    number, pattern = COMMITTED[kind]
    return committed(number, pattern.format(key=re.escape(key), num=_NUM, range=_RANGE), group)


def spread_section() -> list[str]:
    """Tables of the unseeded runs' spread over repeated executions."""
    spread = json.loads((ROOT / "studies" / "spread.json").read_text())
    lines = [
        "## Run-to-run spread of the unseeded runs",
        "",
        "The DP runs of notebook 07 and the compression runs of notebook 08 draw noise, cohorts and rounding "
        "from unseeded generators, on "
        f"purpose. Over {spread['executions']} executions (`uv run python -m studies.spread`, "
        "`studies/spread.json`), test accuracy after 10 rounds, and what the committed execution of the notebook "
        'printed ("outside": outside the study\'s range):',
        "",
        "| Run | Test accuracy, lowest – highest | Committed execution |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| DP-FedAvg, noise {z} | {_span(v)} | {beside(v, committed_runs('dp', z))} |" for z, v in spread["dp"].items()
    ]
    lines += [
        f"| FedAvg, {bits}-bit updates | {_span(v)} | {beside(v, committed_runs('quantized', bits))} |"
        for bits, v in spread["quantized"].items()
    ]
    attack = json.loads((ROOT / "studies" / "attack_spread.json").read_text())
    runs = attack["runs"]
    lines += [
        "",
        f"The unseeded DP runs of notebooks 09 and 10 over {attack['executions']} executions of each "
        "(`uv run python -m studies.attack_spread`, `studies/attack_spread.json`)"
        + (
            ""
            if attack.get("sampling_rate_fixed")
            else "; measured before the sampling rate was fixed in advance at 0.1, when it was 10/98"
        )
        + ". Each cell gives the study's lowest – highest, then what the committed execution of notebook 10 printed "
        'for its three runs (lowest – highest, or each run) and "outside" where one of them lies outside the '
        "study's range:",
        "",
        "| Noise | Test accuracy | Attack AUC per digit | per writer | Canary guesses right (of 20) | "
        "ε lower bound, audit |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def cell(study: list[float], runs_: list[str], decimals: int = 3) -> str:
        return f"{_span(study)}; committed {beside(study, runs_, decimals)}"

    for z in runs["test_accuracy"]:
        correct = runs["canaries_correct"].get(z)  # the undefended runs ("none") are not audited
        audit = "– | –"
        if correct:
            guesses = committed_runs("audit", z, 1)
            audit = (
                f"{min(correct)} – {max(correct)}; committed {beside(correct, guesses, 0)} | "
                f"{cell(runs['epsilon_lower_bound'][z], committed_runs('audit', z, 2), 2)}"
            )
        lines.append(
            f"| {'none (no clipping, no noise)' if z == 'none' else z} | "
            f"{cell(runs['test_accuracy'][z], committed_runs('membership', z, 1))} | "
            f"{cell(runs['example_auc'][z], committed_runs('membership', z, 2))} | "
            f"{cell(runs['writer_auc'][z], committed_runs('membership', z, 3))} | {audit} |"
        )
    return lines + [""]


def text_seeds_section() -> list[str]:
    """Notebook 14's numbers over seeds, from studies/text_seeds.json."""
    seeds = json.loads((ROOT / "studies" / "text_seeds.json").read_text())
    lines = [
        "## Notebook 14 over seeds",
        "",
        f"Notebook 14 executed with SEED = {', '.join(map(str, seeds['seeds']))} (validation roles, cohorts, "
        "shuffles and initial weights; `uv run python -m studies.text_seeds`, `studies/text_seeds.json`), "
        "next-character accuracy on the validation roles, and what the committed execution (SEED = 0) printed:",
        "",
        "| Run | Lowest – highest | Committed execution |",
        "| --- | --- | --- |",
    ]
    for name, values in seeds["summary"].items():
        pattern = TEXT_SEEDS_COMMITTED.get(name)  # the differences are not printed as such
        shown = beside(values, committed("14", pattern.format(num=_NUM))) if pattern else "–"
        lines.append(f"| {name} | {_span(values)} | {shown} |")
    return lines + [""]


def standin_section() -> list[str]:
    """Every notebook on the full-size stand-ins: pass or fail, wall time, peak memory."""
    results = {name: json.loads(path.read_text()) for name, path in STANDINS if path.exists()}
    names = [path.name for path in NOTEBOOKS]  # the notebooks as they are; a renamed one shows "not run" until it runs
    head = "| Notebook | " + " | ".join(f"{s} stand-in: result, time, peak RSS" for s in results) + " |"
    lines = [
        "## The full-size stand-ins",
        "",
        "Every notebook, top to bottom in a fresh kernel with `FL_DATA=emnist`, on two full-size EMNIST-format "
        "stand-ins built by `tools/build_emnist_standin.py` (3,383 writers, 341,873 train and 40,832 test "
        "digits; `--style mild` and `--style strong`, other writers' styles and label skew), measured with "
        "`tools/run_standin.py` on 2 cores, most of them while other jobs shared the machine (so the times are upper "
        'bounds). Peak RSS is the kernel plus its TFF worker; "earlier code" marks a run of a notebook whose code '
        'has changed since (a new diagram or check), "code not recorded" a run from before the runs recorded '
        'their code, "not run" a notebook that is new or renamed, and "does not read EMNIST" one that a stand-in '
        "cannot change (14 reads Shakespeare, 16 a table). A stand-in is not "
        "EMNIST: these runs say that a notebook works at this scale and that its asserts hold on other data, "
        "never what real EMNIST gives.",
        "",
        head,
        "| --- |" + " --- |" * len(results),
    ]
    for name in names:
        cells = []
        for r in results.values():
            run = r.get(name)
            if not run_standin.reads_emnist(NOTEBOOK_DIR / name):
                cells.append("does not read EMNIST")
            elif run is None:
                cells.append("not run")
            else:
                status = "passes" if run["passed"] else f"fails: `{run['error']}`"
                earlier = run_standin.code_note(run, NOTEBOOK_DIR / name)
                cells.append(f"{status}, {run['seconds']:.0f} s, {run['peak_gib']:.2f} GiB{earlier}")
        lines.append(f"| {name[:2]} | " + " | ".join(cells) + " |")
    return lines + [""]


def page() -> str:
    """The whole of docs/RESULTS.md."""
    lines = [
        "# Results",
        "",
        "<!-- Generated by tools/make_results.py from notebook outputs, benchmarks/, studies/: do not edit. -->",
        "",
        "What the notebooks print on the offline sample (100 pseudo-writers of real MNIST digits, and for "
        "notebook 14 six plays of Shakespeare, `data/README.md`), as committed, and what the repeated and "
        "full-size runs measured. Re-running a notebook "
        "gives the same numbers, except for the unseeded DP and compression runs of notebooks 07 to 10, whose "
        "spread is below. The speed and memory benchmarks are in [benchmarks/RESULTS.md](../benchmarks/RESULTS.md).",
        "",
    ]
    for path in NOTEBOOKS:
        lines += notebook_section(path)
    lines += spread_section() + text_seeds_section() + standin_section()
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return generated.main(__doc__, PAGE, page, "uv run python tools/make_results.py", argv)


if __name__ == "__main__":
    sys.exit(main())
