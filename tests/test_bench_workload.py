"""The benchmark's synthetic workload has the same shape as curated claims."""


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


@pytest.mark.parametrize("size", ["seed", "3000"])
def test_every_request_of_the_http_benchmark_is_a_real_answer(size: str) -> None:
    """The load benchmark measures real answers: each of its requests gets a 2xx, every SPARQL lookup has rows, and
    every resource its reference DESCRIBE is about is in the store as a subject (a DESCRIBE of nothing, or a lookup
    that finds nothing, would be a meaningless figure)."""
    from bench.http import ENTITIES, _workload

    workload = _workload(size)
    store = OxigraphStore()
    store.load(workload.quads)
    assert len(workload.entities) == min(ENTITIES, len(workload.entities)) and len(set(workload.entities)) == len(workload.entities)
    with TestClient(create_app(Settings(reason_on_start=False), store=store)) as client:
        for name, request in workload.requests().items():
            for path in request.paths:
                headers = {"Content-Type": "application/json"} if request.body else {"Accept": "application/sparql-results+json"}
                response = client.request(request.method, path, content=request.body, headers=headers)
                assert response.is_success, (name, path, response.status_code, response.text[:200])
                if name.startswith("sparql"):
                    assert response.json()["results"]["bindings"], (name, path)
    for reference, iris in workload.references().items():
        assert all(store.query(f"ASK {{ <{iri}> ?p ?o }}") for iri in iris), reference


def test_the_synthetic_workload_has_hubs_and_a_long_tail() -> None:
    """As curated graphs: a few entities with thousands of claims, most with a handful."""
    from collections import Counter

    _, claims = synthetic(20000, NS)
    subjects = Counter(c.subject for c in claims)
    objects = Counter(c.object for c in claims)
    assert len(subjects) > 500 and len(objects) > 1000
    assert subjects.most_common(1)[0][1] > 500 and sorted(subjects.values())[len(subjects) // 2] < 30
    assert objects.most_common(1)[0][1] > 100 and sorted(objects.values())[len(objects) // 2] < 15
