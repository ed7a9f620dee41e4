"""Generated input at every door answers 4xx or 2xx, never 5xx, in time, and a refused write changes nothing.

A fixed seed and budget keep this run fast and repeatable; ``python -m bench fuzz`` runs the same generator longer.
"""

import random
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bench.fuzz import cases, run
from kg.settings import Settings
from kg.store import OxigraphStore
from pipeline.build import Build
from tests.conftest import TOKEN_ENTRIES, contents

SEED, PER_KIND = 20261126, 25


@pytest.fixture
def fuzzed(seed: Build) -> Iterator[tuple[TestClient, OxigraphStore]]:
    """The app over its own copy of the seed, answering server errors as 5xx instead of raising them in the test."""
    store = OxigraphStore()
    store.load(seed.quads)
    app = create_app(Settings(tokens=TOKEN_ENTRIES, reason_on_start=False, query_timeout_s=5), store=store)
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


def test_what_the_longer_run_found_stays_fixed(fuzzed: tuple[TestClient, OxigraphStore]) -> None:
    """``bench fuzz --count 500 --seed 7`` found two 500s: an empty update, and a claim whose JSON decodes to a lone
    surrogate (the 422 that echoes it could not be encoded)."""
    client, store = fuzzed
    before = contents(store)
    empty = client.post("/sparql", content=b"", headers={"Authorization": "Bearer a-secret",
                                                          "Content-Type": "application/sparql-update"})
    assert empty.status_code < 500 and contents(store) == before
    claim = (b'{"source": "poems-cause-summary", "key": "f\xed\xa0\x80", "subject": "MONDO:0017364", '
             b'"predicate": "biolink:has_attribute", "object": "MONDO:0021136", "quote": "rare", "note": "x"}')
    refused = client.post("/api/v1/claims", content=claim, headers={"Authorization": "Bearer w-secret",
                                                                    "Content-Type": "application/json"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["type"] == "string_unicode"
    assert contents(store) == before
