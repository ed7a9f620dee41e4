"""The seed's claims, read back through SPARQL over the built dataset."""

import re

import pytest

from kg.build import Build, build
from kg.compile import write_dataset
from kg.settings import DEFAULT_BASE_IRI
from kg.store import OxigraphStore, select_rows
from tests.conftest import KG_DIR

PREFIXES = """
PREFIX biolink: <https://w3id.org/biolink/vocab/>
PREFIX np: <http://www.nanopub.org/nschema#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX poems: <https://w3id.org/poems-kg/id/>
PREFIX MONDO: <http://purl.obolibrary.org/obo/MONDO_>
PREFIX HP: <http://purl.obolibrary.org/obo/HP_>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""

CLAIMS_QUERY = PREFIXES + """
SELECT ?key ?s ?p ?o ?negated ?certainty ?quote ?start ?end WHERE {
  ?np np:hasAssertion ?g ; np:hasProvenance ?pg .
  GRAPH ?g { ?a biolink:subject ?s ; biolink:predicate ?p ; biolink:object ?o ; biolink:negated ?negated ; poems:certainty ?certainty }
  GRAPH ?pg { ?g poems:claimKey ?key ; prov:wasDerivedFrom ?t . ?t oa:hasSelector ?q, ?pos .
              ?q oa:exact ?quote . ?pos oa:start ?start ; oa:end ?end }
}"""

P = "https://w3id.org/poems-kg/id/"
BL = "https://w3id.org/biolink/vocab/"
POEMS = "http://purl.obolibrary.org/obo/MONDO_0017364"

# (key, subject, predicate, object, negated, certainty) for every claim the issue lists.
EXPECTED = [
    ("poems-is-paraneoplastic", POEMS, BL + "subclass_of", P + "paraneoplastic-syndrome", "false", "established"),
    ("poems-is-rare", POEMS, BL + "subclass_of", P + "rare-disease", "false", "established"),
    ("pcd-causes-poems", P + "plasma-cell-dyscrasia", BL + "causes", POEMS, "false", "established"),
    ("poems-most-patients-monoclonal", POEMS, BL + "associated_with", P + "monoclonal-plasma-cell-disorder", "false", "established"),
    ("pcd-causes-vegf-overproduction", P + "plasma-cell-dyscrasia", BL + "causes", P + "vegf-overproduction", "false", "established"),
    ("pcd-causes-cytokine-overproduction", P + "plasma-cell-dyscrasia", BL + "causes", P + "cytokine-overproduction", "false", "established"),
    ("vegf-normally-grows-vessels", "http://identifiers.org/hgnc/12680", BL + "actively_involved_in",
     "http://purl.obolibrary.org/obo/GO_0001525", "false", "established"),
    ("vegf-excess-causes-vascular-leak", P + "vegf-overproduction", BL + "causes", P + "vascular-leakage", "false", "established"),
    ("vegf-excess-causes-nerve-inflammation", P + "vegf-overproduction", BL + "causes", P + "nerve-inflammation", "false", "established"),
    ("vegf-excess-causes-organ-malfunction", P + "vegf-overproduction", BL + "causes", P + "organ-system-malfunction", "false", "established"),
    ("poems-not-inherited", POEMS, BL + "has_mode_of_inheritance", P + "germline-inheritance", "true", "established"),
    ("poems-not-germline-mutations", POEMS, BL + "associated_with", P + "germline-mutation", "true", "established"),
    ("poems-somatic-abnormalities", POEMS, BL + "has_mode_of_inheritance", "http://purl.obolibrary.org/obo/HP_0001428", "false", "established"),
    ("pcd-trigger-unknown", P + "plasma-cell-dyscrasia", BL + "has_attribute", P + "unknown-trigger", "false", "established"),
    ("poems-idiopathic-consensus", POEMS, BL + "has_attribute", P + "idiopathic-etiology", "false", "consensus"),
    ("lifestyle-no-evidence", P + "lifestyle", BL + "causes", POEMS, "true", "no-evidence"),
    ("diet-no-evidence", P + "diet", BL + "causes", POEMS, "true", "no-evidence"),
    ("environment-no-evidence", P + "environmental-exposure", BL + "causes", POEMS, "true", "no-evidence"),
    ("viral-infection-not-clear-trigger", P + "viral-infection", BL + "causes", POEMS, "true", "no-evidence"),
    ("toxin-not-clear-trigger", P + "environmental-toxin", BL + "causes", POEMS, "true", "no-evidence"),
    ("chronic-immune-stimulation-hypothesis", P + "chronic-immune-stimulation", BL + "contributes_to", P + "plasma-cell-dyscrasia", "false", "hypothesis"),
    ("viral-trigger-hypothesis", P + "viral-infection", BL + "contributes_to", P + "plasma-cell-dyscrasia", "false", "hypothesis"),
    ("pcd-primary-risk-factor", P + "plasma-cell-dyscrasia", BL + "associated_with_increased_likelihood_of", POEMS, "false", "established"),
    ("lambda-pcd-risk-factor", P + "lambda-restricted-plasma-cell-dyscrasia", BL + "associated_with_increased_likelihood_of", POEMS,
     "false", "established"),
]


@pytest.fixture(scope="module")
def rows(store: OxigraphStore) -> dict[str, dict[str, str]]:
    return {r["key"]: r for r in select_rows(store.query(CLAIMS_QUERY))}


@pytest.mark.parametrize(("key", "s", "p", "o", "negated", "certainty"), EXPECTED)
def test_claim_present_with_exact_quote_and_offsets(rows, seed: Build, key, s, p, o, negated, certainty) -> None:
    row = rows[key]
    assert (row["s"], row["p"], row["o"], row["negated"]) == (s, p, o, negated)
    assert row["certainty"] == P + "certainty-" + certainty
    text = seed.sources["poems-cause-summary"].text
    assert text[int(row["start"]):int(row["end"])] == row["quote"]


def test_every_claim_quote_slices_the_source(rows, seed: Build) -> None:
    text = seed.sources["poems-cause-summary"].text
    assert len(rows) == len(seed.claims)
    for row in rows.values():
        assert text[int(row["start"]):int(row["end"])] == row["quote"]


def test_negated_and_hedged_claims_state_no_direct_triple(store: OxigraphStore) -> None:
    leaks = select_rows(store.query(PREFIXES + """
        SELECT ?g ?s ?p ?o WHERE {
          GRAPH ?g { ?a biolink:subject ?s ; biolink:predicate ?p ; biolink:object ?o ; poems:certainty ?c ; biolink:negated ?n .
                     ?s ?p ?o }
          FILTER (?n = true || ?c IN (poems:certainty-hypothesis, poems:certainty-no-evidence))
        }"""))
    assert leaks == []
    assert bool(store.query(PREFIXES + "ASK { ?a biolink:negated true }"))


def test_positive_established_claims_state_their_direct_triple(store: OxigraphStore) -> None:
    missing = select_rows(store.query(PREFIXES + """
        SELECT ?g WHERE {
          GRAPH ?g { ?a biolink:subject ?s ; biolink:predicate ?p ; biolink:object ?o ; biolink:negated false ;
                        poems:certainty ?c FILTER NOT EXISTS { ?s ?p ?o } }
          FILTER (?c IN (poems:certainty-established, poems:certainty-consensus))
        }"""))
    assert missing == []


def test_not_inherited_is_never_readable_as_inherited(store: OxigraphStore) -> None:
    assert not bool(store.query(PREFIXES + "ASK { MONDO:0017364 biolink:has_mode_of_inheritance poems:germline-inheritance }"))
    assert bool(store.query(PREFIXES + "ASK { MONDO:0017364 biolink:has_mode_of_inheritance HP:0001428 }"))


def test_mechanism_chain_walks_in_one_query(store: OxigraphStore) -> None:
    rows = select_rows(store.query(PREFIXES + """
        SELECT ?effect WHERE { poems:plasma-cell-dyscrasia biolink:causes ?m . ?m biolink:causes ?effect }"""))
    assert {r["effect"] for r in rows} == {P + "vascular-leakage", P + "nerve-inflammation", P + "organ-system-malfunction"}


def test_mechanism_kept_apart_from_etiology(store: OxigraphStore) -> None:
    """What triggers the dyscrasia is unknown; nothing is asserted to cause the dyscrasia."""
    assert not bool(store.query(PREFIXES + "ASK { ?x biolink:causes poems:plasma-cell-dyscrasia }"))
    assert bool(store.query(PREFIXES + "ASK { poems:plasma-cell-dyscrasia biolink:has_attribute poems:unknown-trigger }"))


def test_document_metadata(store: OxigraphStore) -> None:
    rows = select_rows(store.query(PREFIXES + """
        PREFIX spdx: <http://spdx.org/rdf/terms#>
        SELECT DISTINCT ?title ?publisher ?status ?modified ?sha ?first ?members WHERE {
          ?src a poems:SourceDocument ; dcterms:title ?title ; dcterms:publisher ?publisher ; poems:reviewStatus ?status ;
               dcterms:modified ?modified ; spdx:checksum/spdx:checksumValue ?sha .
          ?src poems:firstPersonReportCount ?first ; poems:communityMemberCount ?members .
        }"""))
    assert rows == [{
        "title": "What is the underlying cause of POEMS syndrome?", "publisher": "DiseaseMaps",
        "status": "Medically reviewed summary", "modified": "2026-04-07",
        "sha": "ff2048c2e8558f8cc1e585701c212829eb1ebc2ea5e1bcb78971897d53d1de8f", "first": "1", "members": "59",
    }]


def test_every_sentence_is_claimed_or_out_of_scope(seed: Build) -> None:
    source = seed.sources["poems-cause-summary"]
    spans = [(c.start, c.end) for c in seed.claims]
    for quote, _ in source.out_of_scope:
        start = source.text.find(quote)
        spans.append((start, start + len(quote)))
    uncovered = []
    for match in re.finditer(r"[^.?!\n]+(?:[.?!]|$)", source.text, flags=re.M):
        start, end = match.span()
        # a repeated TL;DR paragraph counts as covered where its first copy is
        first = source.text.find(match.group())
        if not any(s < e2 and e > s2 for s, e in ((start, end), (first, first + end - start)) for s2, e2 in spans):
            uncovered.append(match.group().strip())
    assert [u for u in uncovered if len(u) > 3] == []


def test_build_is_deterministic(tmp_path) -> None:
    first = build(KG_DIR, DEFAULT_BASE_IRI)
    second = build(KG_DIR, DEFAULT_BASE_IRI)
    write_dataset(first.quads, tmp_path / "a", first.ns)
    write_dataset(second.quads, tmp_path / "b", second.ns)
    for name in ("dataset.trig", "dataset.nq"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_claim_iris_are_content_hashes(seed: Build) -> None:
    from kg.compile import claim_iris

    iris = claim_iris(seed.claims, seed.ns)
    assert len(set(iris.values())) == len(seed.claims)
    assert all(re.fullmatch(r"https://w3id.org/poems-kg/np/RA[A-Za-z0-9_-]{43}", iri) for iri in iris.values())


def test_base_iri_is_configurable() -> None:
    other = build(KG_DIR, "http://localhost:8000/")
    assert all("w3id.org/poems-kg" not in str(q) for q in other.quads)
