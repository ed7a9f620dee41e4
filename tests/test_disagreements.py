"""A second source disputing what the first supports: accepted, and shown as a disagreement on every surface."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.queries import QUERY_DIR
from kg.settings import DEFAULT_BASE_IRI, Settings
from kg.store import OxigraphStore
from pipeline.build import build
from tests.conftest import FIXTURES, TOKEN_ENTRIES
from tests.test_cds import POEMS as POEMS_CONDITION
from tests.test_cds import SERVICE, assert_only_the_sources_words, hook_request

WRITER = {"Authorization": "Bearer w-secret"}
POEMS = "MONDO:0017364"
DISPUTE = {"source": "fixture-second-opinion", "key": "second-opinion-pcd", "subject": "MONDO:0004960",
           "predicate": "biolink:causes", "object": POEMS, "direction": "disputes",
           "quote": "POEMS syndrome is not caused by a plasma cell dyscrasia", "note": "Fixture dispute, written through the API."}


@pytest.fixture
def client(kg_copy: Path) -> Iterator[TestClient]:
    """The seed, and a second source whose text is known but none of whose claims is written yet."""
    shutil.copytree(FIXTURES / "second-opinion" / "sources", kg_copy / "sources", dirs_exist_ok=True)
    store = OxigraphStore()
    store.load(build(kg_copy, DEFAULT_BASE_IRI).quads)
    with TestClient(create_app(Settings(kg_dir=kg_copy, tokens=TOKEN_ENTRIES, reason_on_start=False), store=store)) as c:
        yield c


def test_a_second_source_disputing_is_accepted_and_shown_everywhere(client: TestClient) -> None:
    assert client.get("/api/v1/disagreements").json() == []
    written = client.post("/api/v1/claims", json=DISPUTE, headers=WRITER)
    assert written.status_code == 201, written.text
    dispute = written.json()["iri"]

    # JSON: the disagreements endpoint, whole and for the entity (by a clinical code too), and the etiology summary
    listed = client.get("/api/v1/disagreements").json()
    assert len(listed) == 2, "the seed supports the statement twice (TL;DR and body)"
    assert all(d["disputing"]["claim"] == dispute for d in listed)
    assert {d["supporting"]["quote"] for d in listed} == {"caused by an underlying plasma cell dyscrasia",
                                                          "At its core, POEMS syndrome is driven by a plasma cell disorder."}
    first = listed[0]
    assert (first["subject"]["curie"], first["predicate"]["curie"], first["object"]["curie"]) == (
        "MONDO:0004960", "biolink:causes", POEMS)
    assert first["disputing"]["quote"] == DISPUTE["quote"]
    assert first["disputing"]["source_title"] == "Test fixture second opinion"
    assert first["supporting"]["source_title"] == "What is the underlying cause of POEMS syndrome?"
    assert client.get("/api/v1/disagreements", params={"entity": "SCTID:79268002"}).json() == listed
    assert client.get("/api/v1/disagreements", params={"entity": "ECTO:0001098"}).json() == []
    etiology = client.get(f"/api/v1/conditions/{POEMS}/etiology").json()
    assert etiology["disagreements"] == listed
    assert dispute in [c["iri"] for c in etiology["disputed"]]
    assert any(c["quote"] == "caused by an underlying plasma cell dyscrasia" for c in etiology["mechanism"])

    # HTML: a section of the entity page with both quotes and both sources
    page = client.get("/entity/MONDO:0017364.html").text
    section = page[page.index('id="disagreements"'):]
    for words in ("Where sources disagree", DISPUTE["quote"], "caused by an underlying plasma cell dyscrasia",
                  "Test fixture second opinion", "What is the underlying cause of POEMS syndrome?"):
        assert words in section, words

    # SPARQL: the example query on the query page lists the same pairs
    query = (QUERY_DIR / "opposing-claims.rq").read_text()
    rows = client.get("/sparql", params={"query": query}, headers={"Accept": "application/sparql-results+json"}).json()
    assert {b["disputing"]["value"] for b in rows["results"]["bindings"]} == {dispute}
    assert len(rows["results"]["bindings"]) == 2

    # CDS Hooks: a card that shows both sides in the sources' own words
    cards = client.post(SERVICE, json=hook_request(POEMS_CONDITION)).json()["cards"]
    disagreement = next(c for c in cards if c["summary"] == "Sources disagree:")
    assert f'- "{DISPUTE["quote"]}" (disputed by: Test fixture second opinion)' in disagreement["detail"].splitlines()
    assert "Also from: Test fixture second opinion" in disagreement["detail"]


def test_the_same_source_supporting_what_it_disputed_is_refused(client: TestClient) -> None:
    assert client.post("/api/v1/claims", json=DISPUTE, headers=WRITER).status_code == 201
    support = dict(DISPUTE, key="second-opinion-pcd-support", direction="supports", quote="POEMS syndrome")
    refused = client.post("/api/v1/claims", json=support, headers=WRITER)
    assert refused.status_code == 422 and "contradicts a current claim of the same source" in refused.json()["detail"]
    [found] = refused.json()["report"]
    assert found["disputing_quote"] == DISPUTE["quote"] and found["source"].endswith("source/fixture-second-opinion")
    assert len(client.get("/api/v1/disagreements").json()) == 2


def test_cards_with_a_disagreement_still_say_only_what_the_sources_say(client: TestClient, kg_copy: Path) -> None:
    assert client.post("/api/v1/claims", json=DISPUTE, headers=WRITER).status_code == 201
    seed_and_second = build(kg_copy, DEFAULT_BASE_IRI)
    for card in client.post(SERVICE, json=hook_request(POEMS_CONDITION)).json()["cards"]:
        assert_only_the_sources_words(card, seed_and_second)


def test_another_cause_of_a_feature_is_not_part_of_the_conditions_etiology(client: TestClient) -> None:
    """The seed says excess VEGF causes capillary leak; a source saying a viral infection causes capillary leak speaks
    of capillary leak, not of why POEMS syndrome happens: it is on the feature's page, never in POEMS's etiology."""
    other = {"source": "fixture-second-opinion", "key": "fixture-virus-causes-leak", "subject": "MONDO:0005108",
             "predicate": "biolink:causes", "object": "HP:0030005",
             "quote": "a viral infection causes capillary leak", "note": "Fixture: another cause of a feature."}
    written = client.post("/api/v1/claims", json=other, headers=WRITER)
    assert written.status_code == 201, written.text
    etiology = client.get(f"/api/v1/conditions/{POEMS}/etiology").json()
    listed = [c for section, claims in etiology.items() if isinstance(claims, list) for c in claims if "iri" in c]
    assert written.json()["iri"] not in {c["iri"] for c in listed}
    assert any(c["object"]["curie"] == "HP:0030005" for c in etiology["mechanism"]), "the seed's VEGF -> leak stays"
    cards = client.post(SERVICE, json=hook_request(POEMS_CONDITION)).json()["cards"]
    assert all(other["quote"] not in card["detail"] for card in cards)
    assert other["quote"] in client.get("/entity/HP:0030005.html").text
