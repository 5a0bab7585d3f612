"""The learner container and the dev container: the README's two commands, run for real, and the spec's schema.

The README gives `docker build` and `docker run`; here they run with Podman, which takes the same arguments (this
machine has no Docker). `.ci/run` installs Podman and imports a Debian bookworm base built with debootstrap, because
Docker Hub is not reachable; the Dockerfile itself is the one a learner builds.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.apps import SMALL_LESSON as LESSON
from tests.apps import lab_runs_notebook

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]


def readme_container_commands() -> tuple[list[str], list[str]]:
    """The README's `docker build` and `docker run` commands, as argument lists."""
    block = re.search(r"\*\*In a container\.\*\*.*?```bash\n(.*?)```", README, re.S).group(1)
    build, run = (shlex.split(line) for line in block.strip().splitlines())
    assert build[:2] == ["docker", "build"] and run[:2] == ["docker", "run"]
    return build, run


def podman_or_skip() -> None:
    """Skip where Podman is missing, naming the fix, unless CI asks for the test (then it fails)."""
    if shutil.which("podman"):
        return
    message = "Podman is not installed: `apt-get install -y podman runc debootstrap` (as .ci/run does)"
    if os.environ.get("FL_REQUIRE_CONTAINERS"):
        pytest.fail(message)
    pytest.skip(message)


def podman(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(ROOT / ".ci" / "containers.conf"))}
    return subprocess.run(
        [*PODMAN, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=check
    )


def test_the_readmes_container_commands_serve_jupyterlab_on_loopback_only() -> None:
    """Build the image, run it as the README says: JupyterLab answers on 127.0.0.1 with its token, as a non-root user,
    and a kernel of its own runs a lesson's cells in order, as Run All Cells does.

    What the image must prove is that its JupyterLab kernel imports TFF, starts the private runtime, runs a federated
    computation, loads the sample baked into it and plots: all of notebook 02 (LESSON) does that, the smallest lesson
    that does. Training runs on the same TFF worker as 02's computation, and notebook 01's training is run by the
    browser test (by nbval where there is no Chromium), so the container does not run it once more.
    """
    podman_or_skip()
    build, run = readme_container_commands()
    result = podman(*build[1:], timeout=1800, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    name = f"fl-tutorials-test-{os.getpid()}"
    run_args = [a for a in run[2:] if a not in ("--rm", "-it")]  # detached here, removed in `finally`
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", 8888)) != 0, "port 8888 is free for the README's command"
    podman("run", "-d", "--name", name, *run_args, timeout=120)
    try:
        deadline, token = time.monotonic() + 120, None
        while time.monotonic() < deadline and token is None:
            logs = podman("logs", name, check=False)
            match = re.search(r"http://127\.0\.0\.1:8888/lab\?token=([0-9a-f]+)", logs.stdout + logs.stderr)
            token = match.group(1) if match else None
            time.sleep(1)
        assert token, "JupyterLab printed its URL with a token"
        with urllib.request.urlopen(f"http://127.0.0.1:8888/api/status?token={token}", timeout=10) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen("http://127.0.0.1:8888/api/status", timeout=10)
        assert refused.value.code == 403, "the token is on"
        listeners = subprocess.run(["ss", "-ltnH", "sport = :8888"], capture_output=True, text=True).stdout
        assert listeners.strip() and all(line.split()[3].startswith("127.0.0.1:") for line in listeners.splitlines()), (
            listeners
        )
        assert podman("exec", name, "id", "-u").stdout.strip() != "0", "JupyterLab does not run as root"
        # Compiled at build time (the Dockerfile's UV_COMPILE_BYTECODE), before anything here imported TFF.
        compiled = podman(
            "exec", name, "sh", "-c", "ls /opt/fl-venv/lib/python3.11/site-packages/tensorflow_federated/__pycache__"
        )
        assert "__init__.cpython-311.pyc" in compiled.stdout, compiled.stdout + compiled.stderr
        smoke = podman(
            "exec",
            name,
            "uv",
            "run",
            "--locked",
            "python",
            "-c",
            "import warnings; warnings.simplefilter('always');"
            "from helpers.logs import quiet_library_noise; quiet_library_noise();"
            "import tensorflow_federated as tff; from helpers.runtime import use_private_runtime;"
            "print('isolated:', use_private_runtime() is not None);"
            "print(tff.federated_computation(lambda: 'Hello')())",
            timeout=300,
        )
        assert "b'Hello'" in smoke.stdout, smoke.stdout + smoke.stderr
        if "isolated: False" in smoke.stdout:  # user namespaces blocked in this container: the warning must say so
            assert "other containers on the same container network" in smoke.stderr, smoke.stderr
        else:
            assert "isolated: True" in smoke.stdout and "ExposedRuntimeWarning" not in smoke.stderr
        # What the README then says to do: open a lesson in that JupyterLab and run its cells (see the docstring).
        outputs = lab_runs_notebook("http://127.0.0.1:8888", token, LESSON)
        printed = "".join(outputs)
        assert "TensorFlow 2.14.1, TensorFlow Federated 0.87.0" in printed, printed[-3000:]
        assert "b'Hello, federated world!'" in printed and "first client ids:" in printed, printed[-3000:]
    finally:
        podman("rm", "-f", name, check=False)


def test_the_dev_container_follows_the_spec_and_uses_the_same_image() -> None:
    """.devcontainer/devcontainer.json validates against the Dev Container spec's schema (vendored in tests/schemas)."""
    import jsonschema

    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    schema = json.loads((ROOT / "tests" / "schemas" / "devContainer.base.schema.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    assert not [error.message for error in validator.iter_errors(config)]
    assert list(validator.iter_errors({**config, "hostRequirements": {"cpus": "two"}})), "the schema is not vacuous"
    assert (ROOT / ".devcontainer" / config["build"]["dockerfile"]).resolve() == ROOT / "Dockerfile"
    assert 8888 in config["forwardPorts"] and "ms-toolsai.jupyter" in config["customizations"]["vscode"]["extensions"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"useradd --create-home --uid 1000 {config['remoteUser']}" in dockerfile
    # Memory from what ran: the largest peak of any notebook on the full-size stand-ins, plus JupyterLab's share.
    peaks = [
        run["peak_gib"]
        for name in ("standin.json", "standin_strong.json")
        for run in json.loads((ROOT / "benchmarks" / name).read_text()).values()
    ]
    memory_gb = int(config["hostRequirements"]["memory"].removesuffix("gb"))
    assert memory_gb * 1e9 / 2**30 >= max(peaks) + 0.5, (memory_gb, max(peaks))
