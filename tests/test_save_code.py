"""tools/save_code.py: code marked `#@save` in a notebook is the code in helpers/, and bad marks are refused."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tools import save_code

ROOT = Path(__file__).resolve().parents[1]


def test_helpers_hold_exactly_what_the_notebooks_save() -> None:
    assert save_code.main(["--check"]) == 0, "run `uv run python tools/save_code.py`"


def test_every_module_with_saved_code_is_saved_from_a_notebook() -> None:
    saved = save_code.saved(save_code.notebooks())
    assert set(saved) == {
        "helpers/accounting.py",
        "helpers/algorithms.py",
        "helpers/data.py",
        "helpers/partitions.py",
        "helpers/shakespeare.py",
    }
    for target, definitions in saved.items():
        text = (ROOT / target).read_text()
        for definition in definitions:
            name = definition.splitlines()[1].split("(")[0]  # "def poisson_epsilon"
            assert text.count(f"\n{name}(") == 1, f"{name} is defined once in {target}, inside the saved block"


def test_a_changed_notebook_makes_its_module_stale() -> None:
    target = ROOT / "helpers" / "accounting.py"
    (definition,) = save_code.saved(save_code.notebooks())["helpers/accounting.py"]
    assert save_code.module_text(target, [definition]) == target.read_text()
    edited = definition.replace("return math.inf", "return 0.0")
    assert save_code.module_text(target, [edited]) != target.read_text()


def test_marks_are_read_above_a_def_or_class_decorators_included() -> None:
    source = "x = 1\n#@save helpers/plots.py\n@staticmethod\ndef f(a):\n    return a\n\n\ndef g():\n    pass\n"
    assert save_code.marked(source, "nb, cell 1") == [("helpers/plots.py", "@staticmethod\ndef f(a):\n    return a")]
    assert save_code.marked("#@save helpers/plots.py\nclass C:\n    pass\n", "c")[0][1].startswith("class C")


@pytest.mark.parametrize(
    "source, message",
    [
        ("#@save\ndef f():\n    pass\n", "must name the module"),
        ("#@save tools/x.py\ndef f():\n    pass\n", "must name the module"),
        ("#@save helpers/x.py\n\ndef f():\n    pass\n", "right above a top-level def"),
        ("#@save helpers/x.py\nx = 1\n", "right above a top-level def"),
        ("def f():\n    #@save helpers/x.py\n    def g():\n        pass\n", "right above a top-level def"),
    ],
)
def test_a_bad_mark_is_refused_with_the_fix(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"nb.ipynb, cell 3, line \\d+: .*{message}"):
        save_code.marked(source, "nb.ipynb, cell 3")


def test_a_notebook_mark_is_named_by_notebook_and_cell(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("#@save helpers/x.py"),
            nbformat.v4.new_code_cell("#@save\ndef f():\n    pass"),
        ]
    )
    nbformat.write(nb, tmp_path / "99_x.ipynb")
    with pytest.raises(ValueError, match="99_x.ipynb, cell 1, line 1"):
        save_code.saved([tmp_path / "99_x.ipynb"])
