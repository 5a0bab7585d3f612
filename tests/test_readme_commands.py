"""Every command the README and the other docs tell a user to type is mapped to the test that runs it.

A command added to a page without a test fails here, so "the docs say X works" cannot drift from what is tested.
The map names a test function (checked to exist) or `.ci/run` (which runs the command itself).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]

# Command prefix -> where it is run. Longer prefixes win.
RUN_BY = {
    "pip install uv": ".ci/run",
    "uv run pytest": ".ci/run",
    'uv run pytest -m "not slow"': (
        "tests/test_readme_commands.py::test_the_quick_loop_leaves_out_exactly_the_slow_tests"
    ),
    "uv run ruff format --check .": ".ci/run",
    "uv run jupyter lab --no-browser --port=8888": (
        "tests/test_apps.py::test_the_readmes_local_runtime_command_for_colab_admits_colab"
    ),
    "uv run jupyter lab": "tests/test_apps.py::test_uv_run_jupyter_lab_serves_the_lab_and_runs_tff_in_a_kernel",
    "uv run python -m helpers.program": (
        "tests/test_apps.py::test_uv_run_tensorboard_serves_the_metrics_of_a_training_run"
    ),
    "uv run tensorboard": "tests/test_apps.py::test_uv_run_tensorboard_serves_the_metrics_of_a_training_run",
    "python3.11 -m venv .venv": "tests/test_pip_path.py::test_the_readmes_pip_path",
    "pip install --no-deps -r requirements.txt": "tests/test_pip_path.py::test_the_readmes_pip_path",
    "pip install --no-deps -e .": "tests/test_pip_path.py::test_the_readmes_pip_path",
    "jupyter lab": "tests/test_pip_path.py::test_the_readmes_pip_path",
    "uv run python -m benchmarks": "tests/test_benchmarks.py::test_benchmarks_smoke",
    "uv run python -m tools.site": "tests/test_site.py::test_the_site_builds_with_warnings_as_errors_and_runs_nothing",
    "docker build": "tests/test_container.py::test_the_readmes_container_commands_serve_jupyterlab_on_loopback_only",
    "docker run": "tests/test_container.py::test_the_readmes_container_commands_serve_jupyterlab_on_loopback_only",
}


def readme_commands(text: str) -> list[str]:
    """The commands in the README's ```bash blocks (continuations joined, comments dropped)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command:
                commands.append(re.sub(r"\s+", " ", command))
    return commands


def where_run(command: str) -> str | None:
    """The test (or .ci/run) that runs `command`, by its longest matching prefix."""
    matches = [prefix for prefix in RUN_BY if command == prefix or command.startswith(prefix + " ")]
    return RUN_BY[max(matches, key=len)] if matches else None


def test_every_command_in_the_docs_has_a_test_that_runs_it() -> None:
    commands = [c for page in PAGES if page.exists() for c in readme_commands(page.read_text())]
    assert len(commands) >= 8, f"the docs' code blocks were not found: {commands}"
    missing = [c for c in commands if where_run(c) is None]
    assert not missing, f"commands in the docs that no test runs (add a test and map it in RUN_BY): {missing}"


def test_the_mapped_tests_exist() -> None:
    for target in set(RUN_BY.values()):
        path, _, function = target.partition("::")
        source = (ROOT / path).read_text()
        assert not function or re.search(rf"^def {function}\(", source, re.M), f"{target} does not exist"
    assert "uv run pytest" in (ROOT / ".ci" / "run").read_text()
    assert "pip install --quiet uv" in (ROOT / ".ci" / "run").read_text()


def test_the_parser_sees_continuations_and_comments() -> None:
    text = "```bash\nuv run jupyter lab --a \\\n   --b   # note\n```\n"
    assert readme_commands(text) == ["uv run jupyter lab --a --b"]
    assert where_run("uv run jupyter lab --no-browser --port=8888 --x").endswith("admits_colab")
    assert where_run("uv run jupyterx") is None


def test_the_bad_input_table_names_tests_that_exist() -> None:
    usage = (ROOT / "docs" / "USAGE.md").read_text()
    table = usage.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    cited = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`(?:, `::(\w+)`)?", table)
    assert len(cited) >= 12, cited
    for path, function, also in cited:
        source = (ROOT / path).read_text()
        for name in filter(None, (function, also)):
            assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} does not exist"


@pytest.mark.slow  # a second pytest that collects every module and notebook
def test_the_quick_loop_leaves_out_exactly_the_slow_tests() -> None:
    """CONTRIBUTING's `uv run pytest -m "not slow"`: no app, container, environment or notebook, every other test."""
    import importlib.util
    import subprocess
    import sys

    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")  # not tests/conftest.py
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    SLOW_FILES = root_conftest.SLOW_FILES

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-m", "not slow"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    quick = [line.split("::")[0] for line in done.stdout.splitlines() if "::" in line]
    assert len(quick) > 100 and re.search(r"\(\d+ deselected\)", done.stdout), done.stdout[-500:]
    assert not {Path(path).name for path in quick} & SLOW_FILES
    assert not [path for path in quick if path.endswith(".ipynb")], "no notebook in the quick loop"
    for marked in ("test_the_worker_image_runs_notebook_13s_rounds_in_two_containers", "test_benchmarks_smoke"):
        assert marked not in done.stdout, f"{marked} is marked slow"
