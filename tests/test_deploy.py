"""deploy/: the worker image, Docker Compose file and Kubernetes manifest parse and agree with each other."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


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
    assert int(env["WORKER_PORT"]) == container["ports"][0]["containerPort"] == service["spec"]["ports"][0]["targetPort"]


def test_dockerfile_installs_the_lock_and_starts_the_worker() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", text, re.M), "TFF 0.87 needs Python 3.9-3.11"
    assert "pip install --no-cache-dir --no-deps -r /tmp/requirements.txt" in text
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
