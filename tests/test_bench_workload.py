"""The benchmark's synthetic workload has the same shape as curated claims."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bench.workload import synthetic, synthetic_quads
from kg.direction import DIRECTIONS, contradictions
from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI, Settings
from kg.store import OxigraphStore
from ontology.reason import reason
from shapes.validate import nanopublication_quads, validate_claims

NS = Namespaces(DEFAULT_BASE_IRI)


def test_synthetic_quotes_slice_their_text() -> None:
    sources, claims = synthetic(200, NS)
    text = sources["synthetic"].text
    assert all(text[c.start:c.end] == c.quote for c in claims)


def test_synthetic_dataset_is_nanopublications_and_reasons() -> None:
    quads = synthetic_quads(60, NS)
    store = OxigraphStore()
    store.load(quads)
    count = store.query("SELECT (COUNT(?np) AS ?n) WHERE { ?np a <http://www.nanopub.org/nschema#Nanopublication> }")
    assert next(iter(count))["n"].value == "60"
    report = reason(quads, NS)
    assert report.consistent
    assert contradictions(store, NS) == []


def test_synthetic_claims_take_every_direction_and_conform_to_the_shapes() -> None:
    _, claims = synthetic(40, NS)
    assert {c.direction for c in claims} == set(DIRECTIONS)
    quads = synthetic_quads(40, NS)
    store = OxigraphStore()
    store.load(quads)
    report = validate_claims(nanopublication_quads(quads, NS), store, NS)
    assert report.conforms, [str(v) for v in report.violations[:3]]


@pytest.fixture
def client_over_seed(store: OxigraphStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(reason_on_start=False), store=store)) as client:
        yield client


def test_every_request_of_the_http_benchmark_is_answered(client_over_seed: TestClient, store: OxigraphStore) -> None:
    """The load benchmark measures real answers: each of its requests (seed workload) gets a 2xx, and the resource
    its reference DESCRIBE is about is in the store (a DESCRIBE of nothing would be a meaningless peer)."""
    from bench.http import _workload

    _, requests = _workload("seed")
    for name, (method, path, body, described) in requests.items():
        response = client_over_seed.request(method, path, content=body,
                                            headers={"Content-Type": "application/json"} if body else {})
        assert response.is_success, (name, response.status_code, response.text[:200])
        assert store.query(f"ASK {{ <{described}> ?p ?o }}"), (name, described)
