"""Generated input at every door answers 4xx or 2xx, never 5xx, in time, and a refused write changes nothing.

A fixed seed and budget keep this run fast and repeatable; ``python -m bench fuzz`` runs the same generator longer.
"""

import hashlib
import random
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bench.fuzz import cases, run
from kg.build import Build
from kg.settings import Settings
from kg.store import OxigraphStore
from tests.conftest import TEST_TOKENS, contents

SEED, PER_KIND = 20261126, 25


@pytest.fixture
def fuzzed(seed: Build) -> Iterator[tuple[TestClient, OxigraphStore]]:
    """The app over its own copy of the seed, answering server errors as 5xx instead of raising them in the test."""
    store = OxigraphStore()
    store.load(seed.quads)
    entries = [f"{n}:{s}:{hashlib.sha256(t.encode()).hexdigest()}" for n, (s, t) in TEST_TOKENS.items()]
    app = create_app(Settings(tokens=entries, reason_on_start=False, query_timeout_s=5), store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, store


def test_generated_input_at_every_door_gets_no_5xx(fuzzed: tuple[TestClient, OxigraphStore]) -> None:
    client, store = fuzzed
    outcome = run(client, cases(client.app, random.Random(SEED), PER_KIND), lambda: contents(store),  # type: ignore[arg-type]
                  time_limit_s=15)
    assert outcome.findings == []
    assert set(outcome.tried.values()) == {PER_KIND} and len(outcome.tried) == 6, outcome.tried
    refused = sum(n for (kind, status), n in outcome.statuses.items() if 400 <= status < 500)
    assert refused > PER_KIND, "the generator reaches the checks: most mutated input is refused"
