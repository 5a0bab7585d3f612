"""The studies behind the notebooks' claims: their command lines, their committed results, and what they read."""

from __future__ import annotations

import ast
import builtins
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "command", [["studies.spread", "--executions", "1"], ["studies.text_seeds", "--seeds", "3", "3"]], ids=str
)
def test_a_spread_needs_two_runs(command: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "at least 2" in result.stderr


def test_spread_and_drift_results_hold_what_the_notebooks_quote() -> None:
    spread = json.loads((ROOT / "studies" / "spread.json").read_text())
    assert spread["executions"] == len(spread["dp"]["1.0"]) == len(spread["quantized"]["2"]) == 20  # 07 quotes 20
    assert max(spread["dp"]["1.0"]) < min(spread["dp"]["0.0"]) - 0.10, "notebook 07's margin held in every execution"
    # Notebook 07 (cell after the ε table): in every execution each step up in noise lowered accuracy, 20 of 20.
    levels = [spread["dp"][z] for z in ("0.0", "0.5", "0.75", "1.0")]
    assert all(all(a > b for a, b in zip(run, run[1:])) for run in zip(*levels)), "07 claims it in every execution"
    drift = json.loads((ROOT / "studies" / "drift_search.json").read_text())
    assert sorted(drift) == ["0", "1", "2"] and all(set(row) == {"5", "20"} for row in drift.values())


def test_server_optimizer_study_runs_the_processes_notebook_04_saved() -> None:
    """The study's names are the ones notebook 04's table prints, and its gaps name only those."""
    from studies.server_optimizers import GAPS

    source = "".join(
        c.source for c in nbformat.read(ROOT / "notebooks" / "04_models_and_server_optimizers.ipynb", 4).cells
    )
    assert "#@save helpers/algorithms.py\ndef server_optimizer_contenders(" in source
    assert all(name in source for pair in GAPS.values() for name in pair)


def _assigned(notebook: Path) -> set[str]:
    names: set[str] = set()
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return names


def _read(code: str) -> set[str]:
    tree = ast.parse(code)
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    arguments = {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - stored - arguments - set(dir(builtins))


def test_attack_spread_reads_only_names_the_notebooks_assign() -> None:
    """The record cell reads the notebooks' variables: renaming one in a notebook fails here, not in a long study."""
    from studies.attack_spread import NOTEBOOK_DIR, RECORDS

    for name, code in RECORDS.items():
        read = _read(code) - {"json"}
        assert read, name
        assert read <= _assigned(NOTEBOOK_DIR / name), (
            f"{name}: the record cell reads {read - _assigned(NOTEBOOK_DIR / name)}"
        )
    assert _read(RECORDS["09_reconstruction_attacks.ipynb"]) - {"json"} == {"dp_recon"}
    assert _read(RECORDS["10_membership_inference_and_audits.ipynb"]) - {"json"} == {"membership", "audit"}


def test_attack_spread_sets_notebook_10s_one_seed() -> None:
    from studies.attack_spread import NOTEBOOK_DIR, SEED_LINE, SEEDED

    seeded = [
        c for c in nbformat.read(NOTEBOOK_DIR / SEEDED, 4).cells if c.cell_type == "code" and SEED_LINE in c.source
    ]
    assert len(seeded) == 1, "the study replaces exactly one `SEED = 0` line"


def test_attack_spread_record_is_read_from_the_cell_or_fails_with_the_cells_error() -> None:
    from studies import record
    from studies.attack_spread import MARK

    printed = [
        {"output_type": "stream", "name": "stdout", "text": MARK + json.dumps({"x": {"0.5": [0.1, 0.2]}}) + "\n"}
    ]
    assert record(printed, MARK) == {"x": {"0.5": [0.1, 0.2]}}
    failed = [
        {"output_type": "error", "ename": "NameError", "evalue": "name 'dp_recon' is not defined", "traceback": []}
    ]
    with pytest.raises(RuntimeError, match="NameError: name 'dp_recon' is not defined"):
        record(failed, MARK)


def test_text_seeds_reads_only_names_notebook_14_assigns_and_sets_its_one_seed() -> None:
    from studies.text_seeds import MARK, NOTEBOOK, RECORD, SEED_LINE

    read = _read(RECORD) - {"json"}
    assert read and read <= _assigned(NOTEBOOK), f"the record cell reads {read - _assigned(NOTEBOOK)}"
    assert MARK.strip() in RECORD
    seeded = [c for c in nbformat.read(NOTEBOOK, 4).cells if c.cell_type == "code" and SEED_LINE in c.source]
    assert len(seeded) == 1, "the study replaces exactly one `SEED = 0` line"


def test_text_seeds_results_hold_what_notebook_14_quotes() -> None:
    seeds = json.loads((ROOT / "studies" / "text_seeds.json").read_text())
    assert len(seeds["runs"]) >= 3
    for run in seeds["runs"].values():
        assert run["finetune_start"] > run["fedavg"] + 0.03, "notebook 14's fine-tuning margin held on every seed"


def test_write_results_saves_the_json_and_prints_summary_and_failed_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from studies import write_results

    results = {"summary": {"x": [0.1, 0.2]}, "failed_checks": [], "runs": {"0": 1}}
    write_results(tmp_path / "out.json", results)
    assert json.loads((tmp_path / "out.json").read_text()) == results
    printed = capsys.readouterr().out
    assert '"x"' in printed and "failed checks: none" in printed


@pytest.mark.slow  # starts a kernel
def test_a_record_cell_that_prints_nothing_names_the_notebooks_first_failed_cell(tmp_path) -> None:
    import nbformat

    from studies import execute_with_record

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('boom')")]
    )
    path = tmp_path / "00_x.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(RuntimeError, match=r"00_x.ipynb: .*NameError.*first failed cell is 1: ValueError: boom"):
        execute_with_record(nb, path, "print('MARK' + str(y))", "MARK")
