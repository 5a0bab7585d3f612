"""Shared fixtures: no forced data source, and a way to fake being offline."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep FL_DATA out of the unit tests; they set it themselves where they test it."""
    monkeypatch.delenv("FL_DATA", raising=False)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make helpers.data believe the machine is offline, without touching the network."""
    from helpers import data

    monkeypatch.setattr(data, "is_online", lambda *a, **k: False)


@pytest.fixture(autouse=True)
def private_tff_runtime() -> None:
    """Tests that run TFF run it on the private runtime (SECURITY.md), installed explicitly, never on import."""
    import sys

    if "tensorflow_federated" in sys.modules:
        from helpers.runtime import use_private_runtime

        use_private_runtime()


@pytest.fixture(scope="module")
def sample():
    """The offline sample, loaded once per test module."""
    from helpers import data

    return data.load_emnist(source="sample")
