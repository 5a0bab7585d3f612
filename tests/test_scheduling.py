"""How the suite is scheduled (root conftest.py): the longest modules and notebooks first, by a measured table; and
the part of notebook 01 that the Colab and container tests run (tests/apps.py); and nbval leaving 01 to the browser
test."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")  # not tests/conftest.py
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_durations_table_names_only_modules_and_notebooks_that_exist() -> None:
    table = json.loads((ROOT / "tests" / "durations.json").read_text())
    assert table and all(seconds >= 0 for seconds in table.values())
    assert not [scope for scope in table if not (ROOT / scope.split("::")[0]).is_file()]
    assert list(table.values()) == sorted(table.values(), reverse=True)


def test_xdist_workers_collect_the_longest_scopes_first_and_keep_each_scopes_order(tmp_path: Path) -> None:
    conftest = _root_conftest()
    conftest.DURATIONS = tmp_path / "durations.json"
    conftest.DURATIONS.write_text(
        json.dumps({"notebooks/b.ipynb": 300.0, "tests/test_c.py": 40.0, "tests/test_a.py": 5.0})
    )
    names = [
        "tests/test_a.py::test_one",
        "tests/test_c.py::test_x[1]",
        "tests/test_a.py::test_two",
        "tests/test_c.py::test_x[2]",
        "notebooks/b.ipynb::Cell 0",
        "notebooks/b.ipynb::Cell 1",
        "tests/test_d.py::test_unknown",
    ]

    def collected():
        return [
            SimpleNamespace(nodeid=name, path=Path(name.split("::")[0]), add_marker=lambda m: None) for name in names
        ]

    items = collected()
    conftest.pytest_collection_modifyitems(SimpleNamespace(workerinput={}), items)
    assert [item.nodeid for item in items] == [
        "tests/test_d.py::test_unknown",  # not measured yet: first, as it may be long
        "notebooks/b.ipynb::Cell 0",
        "notebooks/b.ipynb::Cell 1",
        "tests/test_c.py::test_x[1]",
        "tests/test_c.py::test_x[2]",
        "tests/test_a.py::test_one",
        "tests/test_a.py::test_two",
    ]
    items = collected()
    conftest.pytest_collection_modifyitems(SimpleNamespace(), items)  # without xdist: the order as collected
    assert [item.nodeid for item in items] == names


@pytest.mark.parametrize("chromium", [True, False], ids=["with Chromium", "without Chromium"])
def test_nbval_leaves_notebook_01_to_the_browser_test_only_when_that_test_will_run_it(
    chromium: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests import apps

    conftest = _root_conftest()
    monkeypatch.setattr(apps, "chromium_path", lambda: "/usr/bin/chromium" if chromium else None)

    def skipped(names: list[str]) -> list[str]:
        items = [SimpleNamespace(nodeid=name, marks=[]) for name in names]
        for item in items:
            item.add_marker = item.marks.append
        conftest.pytest_skip_what_the_browser_test_runs(SimpleNamespace(), items)
        return [item.nodeid for item in items if any(mark.name == "skip" for mark in item.marks)]

    notebook_01 = [f"{conftest.BROWSER_NOTEBOOK}::Cell {i}" for i in range(3)]
    other = ["notebooks/02_federated_data.ipynb::Cell 0", "tests/test_browser.py::test_something_else"]
    assert skipped([*notebook_01, *other, conftest.BROWSER_TEST]) == (notebook_01 if chromium else [])
    assert skipped([*notebook_01, *other]) == [], "with the browser test deselected (-k, -m), nbval runs 01"
    assert conftest.BROWSER_TEST.split("::")[1] in (ROOT / "tests" / "test_browser.py").read_text()
    assert (ROOT / conftest.BROWSER_NOTEBOOK).is_file()
