"""deploy/: the worker image, Docker Compose file and Kubernetes manifest agree with each other, and the image and
Compose's services run notebook 13's rounds for real (with Podman, as tests/test_container.py explains)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def test_compose_runs_two_workers_on_distinct_host_ports() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    workers = compose["services"]
    assert len(workers) >= 2
    host_ports = []
    for service in workers.values():
        assert service["image"] == "fl-tutorials-worker"
        container_port = service["environment"]["WORKER_PORT"]
        (mapping,) = service["ports"]
        address, host, container = mapping.split(":")
        assert address == "127.0.0.1", "an unauthenticated execution port is published on loopback only"
        assert container == container_port
        host_ports.append(host)
    assert len(set(host_ports)) == len(host_ports)
    build = workers["worker-1"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()


def test_kubernetes_service_and_statefulset_agree() -> None:
    service, statefulset, _ = yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text())
    assert service["kind"] == "Service" and service["spec"]["clusterIP"] == "None"
    assert statefulset["kind"] == "StatefulSet" and statefulset["spec"]["serviceName"] == service["metadata"]["name"]
    assert statefulset["spec"]["replicas"] >= 2
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert (
        int(env["WORKER_PORT"]) == container["ports"][0]["containerPort"] == service["spec"]["ports"][0]["targetPort"]
    )


def test_dockerfile_takes_the_locked_worker_and_starts_it() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert "grep -m1 '^tensorflow-federated==' /tmp/requirements.txt" in text, "the worker of the locked TFF"
    assert re.search(r"^tensorflow-federated==0\.87\.0$", (ROOT / "requirements.txt").read_text(), re.M)
    assert "worker_binary" in text and "--port=${WORKER_PORT}" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), "the worker runs any graph it is sent: never as root"
    assert text.index("USER") < text.index("ENTRYPOINT")


def test_kubernetes_admits_only_the_driver_to_the_workers() -> None:
    _, statefulset, policy = yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text())
    assert policy["kind"] == "NetworkPolicy" and policy["spec"]["policyTypes"] == ["Ingress"]
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items(), "the policy covers the workers"
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app": "tff-driver"}}}], "only the driver's pods"
    assert "tff-driver" not in labels.values(), "workers must not admit each other by accident"
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    assert rule["ports"] == [{"protocol": "TCP", "port": container["ports"][0]["containerPort"]}]


def notebook_13_driver(addresses: list[str]) -> str:
    """Notebook 13's own setup and rounds cells, with `addresses` naming workers we did not start ourselves."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "13_multi_worker_simulation.ipynb", as_version=4)
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    setup = next(c for c in code if "use_private_runtime()" in c)
    rounds = next(c for c in code if "def run(context=None)" in c)
    check = next(c for c in code if c.startswith("reference = results"))
    workers = (
        "from helpers.contexts import multi_worker_context, remote_context, wait_until_ready\n"
        f"addresses = {addresses!r}\n"
        "for address in addresses:\n    wait_until_ready(address, timeout=60)"
    )
    return "\n\n".join([setup, workers, rounds, check])


@pytest.mark.slow
def test_the_worker_image_runs_notebook_13s_rounds_in_two_containers(tmp_path: Path) -> None:
    """Build deploy/Dockerfile, start its workers as docker-compose.yml does, and run notebook 13's rounds on them."""
    from tests.test_container import podman, podman_or_skip

    podman_or_skip()
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    build = compose["services"]["worker-1"]["build"]
    image = compose["services"]["worker-1"]["image"]
    context = (DEPLOY / build["context"]).resolve()  # Compose resolves the Dockerfile against the context
    result = podman(
        "build",
        "--platform",
        "linux/amd64",
        "-f",
        str(context / build["dockerfile"]),
        "-t",
        image,
        str(context),
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data_dir = tmp_path / "cache"  # the driver's XDG_CACHE_HOME: the sample is unpacked in data_dir/fl-tutorials
    (data_dir / "fl-tutorials").mkdir(parents=True)
    data_dir.chmod(0o755)  # the workers' user (uid 10001) reads the mounted folder
    names, addresses = [], []
    try:
        for service_name, service in compose["services"].items():  # what `docker compose up` starts, service by service
            (mapping,) = service["ports"]
            name = f"{service_name}-test-{os.getpid()}"
            env = [f"--env={key}={value}" for key, value in service["environment"].items()]
            (volume,) = service["volumes"]
            volume = re.sub(r"\$\{FL_DATA_DIR(:\?[^}]*)?\}", str(data_dir / "fl-tutorials"), volume)
            podman("run", "-d", "--name", name, "-p", mapping, "-v", volume, *env, image, timeout=120)
            names.append(name)
            address, host_port, _ = mapping.split(":")
            addresses.append(f"{address}:{host_port}")
        listeners = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout.splitlines()
        published = [
            line.split()[3]
            for line in listeners
            if line.split()[3].rsplit(":", 1)[1] in {a.rsplit(":", 1)[1] for a in addresses}
        ]
        assert sorted(published) == sorted(addresses), ("published on loopback only", published)
        script = tmp_path / "driver.py"
        script.write_text(notebook_13_driver(addresses))
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT / "notebooks",
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "FL_DATA": os.environ.get("FL_DATA", "sample"), "XDG_CACHE_HOME": str(data_dir)},
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "two workers" in done.stdout and "max |loss difference|, two workers vs default:" in done.stdout
        for name in names:  # the rounds ran in the containers (still up, as user 10001), not in workers of the driver's
            assert podman("exec", name, "id", "-u").stdout.strip() == "10001"
            assert "Failed to connect to database" not in podman("logs", name).stderr
    finally:
        for name in names:
            podman("rm", "-f", name, check=False)
