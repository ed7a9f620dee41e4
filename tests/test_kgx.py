"""The KGX export: the claims as Biolink nodes and edges, checked with kgx itself (the ecosystem's validator, run
offline in its own environment, which ``make test`` creates), and direction kept the one way Biolink allows."""

import gzip
import importlib.resources
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from ruamel.yaml import YAML
from typer.testing import CliRunner

from kg.biolink import TABLE_FILE
from pipeline.build import Build
from pipeline.cli import app

ROOT = Path(__file__).resolve().parent.parent
KGX_PYTHON = ROOT / ".venv-kgx" / "bin" / "python"
MODEL = Path(str(importlib.resources.files("biolink_model") / "schema")).parent  # the pinned biolink-model wheel


def in_kgx_environment(script: str, *arguments: Path) -> dict[str, Any]:
    """The JSON a script of ``tests/validators`` prints, run in kgx's environment on the pinned Biolink model."""
    assert KGX_PYTHON.exists(), "kgx's environment is missing: `make test` creates it (make .venv-kgx/.installed)"
    run = subprocess.run([str(KGX_PYTHON), str(ROOT / "tests" / "validators" / script), str(MODEL), *map(str, arguments)],
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1])


def kgx_validate(*files: Path) -> dict[str, Any]:
    """kgx's own report on ``files``, and every network connection it tried (refused)."""
    return in_kgx_environment("kgx_validate.py", *files)


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kgx")
    result = CliRunner().invoke(app, ["export", "--format", "kgx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def by_id(exported: Path) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in read(exported / "edges.jsonl")}


def test_kgx_validate_finds_no_error_in_the_export_and_reaches_no_network(exported: Path) -> None:
    report = kgx_validate(exported / "nodes.jsonl", exported / "edges.jsonl")
    assert report == {"errors": {}, "network": []}


def test_bmt_accepts_every_category_predicate_and_association_class_of_the_table(exported: Path, tmp_path: Path) -> None:
    """Each category is a Biolink category, each exchanged predicate a Biolink predicate whose domain and range hold
    its edges' categories, and each association class one the Biolink model admits for its row (bmt's
    get_associations)."""
    doc = YAML(typ="safe").load(TABLE_FILE.read_text(encoding="utf-8"))
    edges = read(exported / "edges.jsonl")
    category = {n["id"]: n["category"][0] for n in read(exported / "nodes.jsonl")}
    table = {"categories": sorted({row["category"] for row in doc["categories"]}),
             "predicates": sorted({e["predicate"] for e in edges}), "associations": doc["associations"],
             "edges": sorted({(category[e["subject"]], e["predicate"], category[e["object"]]) for e in edges})}
    path = tmp_path / "table.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    assert in_kgx_environment("bmt_check.py", path) == {"categories": [], "predicates": [], "associations": [], "edges": [],
                                                       "network": []}
    wrong = {"categories": ["biolink:Disease", "biolink:Nonsense"], "predicates": ["biolink:has_attribute"],
             "associations": [["biolink:Disease", "biolink:has_phenotype", "biolink:PhenotypicFeature", "biolink:GeneToGoTermAssociation"]],
             "edges": [["biolink:Disease", "biolink:has_mode_of_inheritance", "biolink:Gene"]]}
    path.write_text(json.dumps(wrong), encoding="utf-8")
    refused = in_kgx_environment("bmt_check.py", path)
    assert refused["categories"] == ["biolink:Nonsense"] and refused["predicates"] == ["biolink:has_attribute"]
    assert refused["associations"] == wrong["associations"] and refused["edges"] == wrong["edges"]


def test_kgx_validate_refuses_what_biolink_cannot_resolve(exported: Path, tmp_path: Path) -> None:
    """The check can fail: a minted term as an edge's subject is what kgx refuses, and why such claims stay out."""
    edges = read(exported / "edges.jsonl")
    edges[0]["subject"] = "poems:idiopathic-etiology"
    bad = tmp_path / "edges.jsonl"
    bad.write_text("".join(json.dumps(e) + "\n" for e in edges), encoding="utf-8")
    errors = kgx_validate(exported / "nodes.jsonl", bad)["errors"]
    assert "CURIE prefix 'poems' that is not represented in Biolink Model JSON-LD context" in json.dumps(errors)


def test_every_edge_is_a_current_claim_with_its_nodes(exported: Path, seed: Build) -> None:
    edges, nodes = read(exported / "edges.jsonl"), {n["id"]: n for n in read(exported / "nodes.jsonl")}
    assert {e["id"] for e in edges} <= set(seed.iris.values())
    assert len([e for e in edges if e["primary_knowledge_source"] == "infores:orphanet"]) == 51  # every HPO row
    for edge in edges:
        assert edge["subject"] in nodes and edge["object"] in nodes
        assert edge["category"] and edge["knowledge_level"] and edge["agent_type"] and edge["primary_knowledge_source"]
    assert (nodes["MONDO:0017364"]["category"], nodes["MONDO:0017364"]["name"]) == (["biolink:Disease"], "POEMS syndrome")
    assert nodes["HP:0001271"]["category"] == ["biolink:PhenotypicFeature"]


def test_a_row_keeps_its_sources_qualifiers_publications_and_quote(exported: Path, seed: Build) -> None:
    edge = by_id(exported)[seed.iris["hpo-phenotype-annotations:line-248813"]]
    assert {k: edge[k] for k in ("subject", "predicate", "object", "category", "frequency_qualifier", "has_evidence",
                                 "primary_knowledge_source", "aggregator_knowledge_source", "negated", "knowledge_level",
                                 "agent_type", "poems_line")} == {
        "subject": "MONDO:0017364", "predicate": "biolink:has_phenotype", "object": "HP:0001271",
        "category": ["biolink:DiseaseToPhenotypicFeatureAssociation"], "frequency_qualifier": "HP:0040280",
        "has_evidence": ["ECO:0000304"], "primary_knowledge_source": "infores:orphanet",
        "aggregator_knowledge_source": ["infores:hpo-annotations"], "negated": False,
        "knowledge_level": "knowledge_assertion", "agent_type": "manual_agent", "poems_line": "line=248812,248813"}
    assert edge["poems_quote"].startswith("ORPHA:2905\tPOEMS syndrome\t\tHP:0001271")
    assert edge["publications"] == ["Orphanet:2905"]


@pytest.mark.parametrize(("key", "expected"), [
    ("pcd-causes-poems", {"negated": False, "knowledge_level": "knowledge_assertion", "poems_direction": "SEPIO:0000403"}),
    ("poems-not-inherited", {"negated": True, "knowledge_level": "knowledge_assertion", "poems_direction": "SEPIO:0000404",
                             "poems_certainty": "established"}),
    ("viral-trigger-hypothesis", {"negated": False, "knowledge_level": "prediction",
                                  "poems_direction": "poems:hypothesis-under-investigation"}),
])
def test_direction_survives_the_export(exported: Path, seed: Build, key: str, expected: dict[str, Any]) -> None:
    edge = by_id(exported)[seed.iris[key]]
    assert {k: edge.get(k) for k in expected} == expected
    claim = next(c for c in seed.claims if c.key == key)
    assert edge["poems_quote"] == claim.quote and (edge["poems_quote_start"], edge["poems_quote_end"]) == (claim.start, claim.end)


@pytest.mark.parametrize("key", ["diet-no-evidence", "environment-no-evidence", "poems-is-rare", "doc-review-status",
                                 "chronic-immune-stimulation-hypothesis"])
def test_what_biolink_cannot_carry_is_left_out(exported: Path, seed: Build, key: str) -> None:
    """Insufficient evidence (which any edge would read as an assertion), has_attribute (no predicate), document facts
    and minted terms are not exchanged; the RDF keeps them."""
    assert seed.iris[key] not in by_id(exported)


def test_the_kgx_files_are_dumps_listed_in_void(seed_client: TestClient, exported: Path) -> None:
    for name in ("nodes", "edges"):
        dump = seed_client.get(f"/dumps/kgx-{name}.jsonl.gz")
        assert dump.status_code == 200
        assert gzip.decompress(dump.content) == (exported / f"{name}.jsonl").read_bytes()
    void = Graph().parse(data=seed_client.get("/void", headers={"Accept": "text/turtle"}).text, format="turtle")
    dumps = set(void.objects(None, URIRef("http://rdfs.org/ns/void#dataDump")))
    assert URIRef("https://w3id.org/poems-kg/dumps/kgx-edges.jsonl.gz") in dumps


def test_export_kgx_needs_a_folder() -> None:
    result = CliRunner().invoke(app, ["export", "--format", "kgx"])
    assert result.exit_code == 2 and "give their folder with --out" in result.output
