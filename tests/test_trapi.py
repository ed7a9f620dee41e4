"""The TRAPI knowledge provider: one-hop queries answered with the claims as Biolink edges, direction kept, checked
with the Translator's own tools (reasoner-validator's Biolink checks and reasoner-pydantic's TRAPI models, offline,
in an environment ``make test`` creates), and bad query graphs refused with a 400 that says why."""

import importlib.resources
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kg.settings import Settings
from kg.store import KGStore
from pipeline.build import Build

ROOT = Path(__file__).resolve().parent.parent
TRAPI_PYTHON = ROOT / ".venv-trapi" / "bin" / "python"
MODEL = Path(str(importlib.resources.files("biolink_model") / "schema")).parent
POEMS, GAMMOPATHY = "MONDO:0017364", "MONDO:0004960"
# The only errors reasoner-validator reports: the two knowledge sources minted for want of an infores identifier
# (README, "Biolink exchange"), and, where such a one is an edge's primary source, that no valid primary is given.
MINTED = {"poems:infores-poems-kg", "poems:infores-diseasemaps"}


def one_hop(subject: dict[str, Any], obj: dict[str, Any], predicates: list[str] | None = None) -> dict[str, Any]:
    edge: dict[str, Any] = {"subject": "n0", "object": "n1", **({"predicates": predicates} if predicates else {})}
    return {"message": {"query_graph": {"nodes": {"n0": subject, "n1": obj}, "edges": {"e0": edge}}}}


EXAMPLES = {
    "phenotypes of POEMS syndrome": one_hop({"ids": [POEMS]}, {"categories": ["biolink:PhenotypicFeature"]},
                                            ["biolink:has_phenotype"]),
    "what causes POEMS syndrome": one_hop({}, {"ids": [POEMS]}, ["biolink:causes"]),
    "what monoclonal gammopathy causes": one_hop({"ids": [GAMMOPATHY]}, {}, ["biolink:causes"]),
}


@pytest.fixture(scope="module")
def client(api_store: KGStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(reason_on_start=False), store=api_store)) as c:
        yield c


def edges(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return answer["message"]["knowledge_graph"]["edges"]


def attribute(edge: dict[str, Any], type_id: str, name: str | None = None) -> Any:
    return next((a["value"] for a in edge["attributes"] if a["attribute_type_id"] == type_id
                 and a.get("original_attribute_name") == name), None)


def test_the_examples_are_answered_with_every_matching_claim(client: TestClient, seed: Build) -> None:
    answers = {name: client.post("/trapi/query", json=query) for name, query in EXAMPLES.items()}
    assert all(a.status_code == 200 for a in answers.values()), {n: a.text for n, a in answers.items()}
    phenotypes = answers["phenotypes of POEMS syndrome"].json()
    assert len(phenotypes["message"]["results"]) == 51 == len(edges(phenotypes))
    assert {e["predicate"] for e in edges(phenotypes).values()} == {"biolink:has_phenotype"}
    causes = edges(answers["what causes POEMS syndrome"].json())
    assert set(causes) == {seed.iris["pcd-causes-poems"], seed.iris["pcd-drives-poems"]}
    caused = edges(answers["what monoclonal gammopathy causes"].json())
    assert {e["object"] for e in caused.values()} >= {POEMS} and all(e["subject"] == GAMMOPATHY for e in caused.values())


def test_the_translators_validators_find_only_the_unregistered_knowledge_sources(seed_client: TestClient,
                                                                                   tmp_path: Path) -> None:
    """reasoner-pydantic accepts every document; reasoner-validator accepts the meta knowledge graph and every
    category, predicate, attribute and qualifier of the answers, refusing only the two minted knowledge sources."""
    files = [tmp_path / "meta.json"]
    files[0].write_text(seed_client.get("/trapi/meta_knowledge_graph").text, encoding="utf-8")
    for i, query in enumerate(EXAMPLES.values()):
        files.append(tmp_path / f"answer-{i}.json")
        files[-1].write_text(seed_client.post("/trapi/query", json=query).text, encoding="utf-8")
    assert TRAPI_PYTHON.exists(), "the TRAPI validators' environment is missing: `make test` creates it"
    run = subprocess.run([str(TRAPI_PYTHON), str(ROOT / "tests" / "validators" / "trapi_validate.py"), str(MODEL),
                          *map(str, files)], capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["network"] == []
    reports = [report["files"][str(f)] for f in files]
    assert all(r["biolink_version"] == "4.4.6" for r in reports)
    assert reports[0]["errors"] == []  # the meta knowledge graph
    for found in reports[1:]:
        for error in found["errors"]:
            assert error["tool"] == "reasoner-validator", error
            if error["code"].endswith("resource_id.infores.invalid"):
                assert set(error["about"]) <= MINTED, error
            else:
                assert error["code"].endswith("provenance.missing_primary"), error
    assert {e["code"] for r in reports[1:] for e in r["errors"]} == {
        "error: error.knowledge_graph.edge.sources.retrieval_source.resource_id.infores.invalid",
        "error: error.knowledge_graph.edge.provenance.missing_primary"}


def test_sources_name_the_primary_then_each_aggregator_with_its_upstream(client: TestClient, seed: Build) -> None:
    answer = client.post("/trapi/query", json=EXAMPLES["phenotypes of POEMS syndrome"]).json()
    edge = edges(answer)[seed.iris["hpo-phenotype-annotations:line-248813"]]
    assert edge["sources"] == [
        {"resource_id": "infores:orphanet", "resource_role": "primary_knowledge_source"},
        {"resource_id": "infores:hpo-annotations", "resource_role": "aggregator_knowledge_source",
         "upstream_resource_ids": ["infores:orphanet"]},
        {"resource_id": "poems:infores-poems-kg", "resource_role": "aggregator_knowledge_source",
         "upstream_resource_ids": ["infores:hpo-annotations"]}]
    assert edge["qualifiers"] == [{"qualifier_type_id": "biolink:frequency_qualifier", "qualifier_value": "HP:0040280"}]
    assert attribute(edge, "biolink:id", "nanopublication") == seed.iris["hpo-phenotype-annotations:line-248813"]
    assert attribute(edge, "biolink:Attribute", "poems_quote").startswith("ORPHA:2905\tPOEMS syndrome\t\tHP:0001271")
    assert attribute(edge, "biolink:publications") == ["Orphanet:2905"]


@pytest.mark.parametrize(("key", "query", "expected"), [
    ("poems-not-inherited", one_hop({"ids": [POEMS]}, {}, ["biolink:has_mode_of_inheritance"]),
     {"biolink:negated": True, "biolink:knowledge_level": "knowledge_assertion"}),
    ("viral-trigger-hypothesis", one_hop({"categories": ["biolink:Disease"]}, {"ids": [GAMMOPATHY]}, ["biolink:related_to"]),
     {"biolink:negated": False, "biolink:knowledge_level": "prediction"}),
    ("pcd-causes-poems", EXAMPLES["what causes POEMS syndrome"],
     {"biolink:negated": False, "biolink:knowledge_level": "knowledge_assertion"}),
])
def test_direction_survives_the_answer(client: TestClient, seed: Build, key: str, query: dict[str, Any],
                                       expected: dict[str, Any]) -> None:
    answer = client.post("/trapi/query", json=query)
    assert answer.status_code == 200, answer.text
    edge = edges(answer.json())[seed.iris[key]]
    assert {type_id: attribute(edge, type_id) for type_id in expected} == expected
    claim = next(c for c in seed.claims if c.key == key)
    assert attribute(edge, "biolink:Attribute", "poems_quote") == claim.quote


def test_insufficient_evidence_is_never_an_answer(client: TestClient, seed: Build) -> None:
    """"No definitive evidence" that diet causes POEMS syndrome is not an edge, whatever is asked."""
    answer = client.post("/trapi/query", json=one_hop({}, {"ids": [POEMS]})).json()
    insufficient = {seed.iris[c.key] for c in seed.claims if c.direction == "insufficient_evidence"}
    assert insufficient and not insufficient & set(edges(answer))
    assert answer["message"]["results"]  # what the source supports about POEMS syndrome as an object is there


def test_the_meta_knowledge_graph_says_what_is_answered(client: TestClient) -> None:
    meta = client.get("/trapi/meta_knowledge_graph").json()
    assert meta["nodes"]["biolink:Disease"] == {"id_prefixes": ["MONDO"]}
    assert {"subject": "biolink:Disease", "predicate": "biolink:has_phenotype", "object": "biolink:PhenotypicFeature",
            "knowledge_types": ["lookup"]} in meta["edges"]


@pytest.mark.parametrize(("query", "status", "words"), [
    (one_hop({"ids": [POEMS]}, {}, ["biolink:causes_nonsense"]), 400,
     "query_graph.edges.e0.predicates: biolink:causes_nonsense is not a Biolink predicate"),
    (one_hop({"categories": ["biolink:Nonsense"]}, {}), 400, "query_graph.nodes.n0.categories: biolink:Nonsense is not a Biolink class"),
    (one_hop({"categories": ["biolink:causes"]}, {}), 400, "biolink:causes is not a Biolink class"),
    ({"message": {"query_graph": {"nodes": {"a": {}, "b": {}, "c": {}}, "edges": {
        "e0": {"subject": "a", "object": "b"}, "e1": {"subject": "b", "object": "c"}}}}}, 400,
     "only one-hop query graphs are supported"),
    (one_hop({"ids": [f"MONDO:{i:07d}" for i in range(1001)]}, {}), 400, "1001 ids, more than the limit of 1000"),
    (one_hop({"ids": ["NOPE:1"]}, {}), 400, "query_graph.nodes.n0.ids: unknown prefix 'NOPE'"),
    (one_hop({"ids": [POEMS], "set_interpretation": "ALL"}, {}), 400, "only BATCH is supported"),
    ({"message": {}}, 400, "the query has no message.query_graph"),
    ({"message": None}, 400, "the query has no message.query_graph"),  # schemathesis found it answered 500
    ({"message": {"query_graph": None}}, 400, "the query has no message.query_graph"),
    ({"message": {"query_graph": {"nodes": {"a": None, "b": {}}, "edges": {"e0": {"subject": "a", "object": "b"}}}}}, 400,
     "query_graph.nodes.a must be an object"),
])
def test_a_query_it_cannot_answer_gets_a_400_that_says_why(client: TestClient, query: dict[str, Any], status: int,
                                                           words: str) -> None:
    answer = client.post("/trapi/query", json=query)
    assert answer.status_code == status and words in answer.json()["detail"], answer.text


def test_a_body_that_is_not_json_is_refused(client: TestClient) -> None:
    answer = client.post("/trapi/query", content=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "not JSON" in answer.json()["detail"]


def test_the_provider_is_in_the_openapi_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "post" in paths["/trapi/query"] and "get" in paths["/trapi/meta_knowledge_graph"]
