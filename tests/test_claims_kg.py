"""The seed's claims, read back through SPARQL over the built dataset."""

import re

import pytest

from kg.compile import write_dataset
from kg.model import Source
from kg.settings import DEFAULT_BASE_IRI
from kg.store import OxigraphStore, select_rows
from pipeline.build import Build, build
from pipeline.readers.folder import uncovered
from tests.conftest import KG_DIR

PREFIXES = """
PREFIX biolink: <https://w3id.org/biolink/vocab/>
PREFIX np: <http://www.nanopub.org/nschema#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX poems: <https://w3id.org/poems-kg/id/>
PREFIX MONDO: <http://purl.obolibrary.org/obo/MONDO_>
PREFIX HP: <http://purl.obolibrary.org/obo/HP_>
PREFIX ECTO: <http://purl.obolibrary.org/obo/ECTO_>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""

CLAIMS_QUERY = PREFIXES + """
SELECT ?key ?s ?p ?o ?direction ?negated ?level ?certainty ?frequency ?quote ?start ?end WHERE {
  ?np np:hasAssertion ?g ; np:hasProvenance ?pg .
  GRAPH <https://w3id.org/poems-kg/graph/curation> { ?np poems:claimKey ?key }
  GRAPH ?g { ?a biolink:subject ?s ; biolink:predicate ?p ; biolink:object ?o ; poems:direction ?direction ;
                biolink:negated ?negated ; biolink:knowledge_level ?level
             OPTIONAL { ?a poems:certainty ?certainty } OPTIONAL { ?a biolink:frequency_qualifier ?frequency } }
  GRAPH ?pg { ?g prov:wasDerivedFrom ?t . ?t oa:hasSelector ?q, ?pos .
              ?q oa:exact ?quote . ?pos oa:start ?start ; oa:end ?end }
}"""

P = "https://w3id.org/poems-kg/id/"
BL = "https://w3id.org/biolink/vocab/"
POEMS = "http://purl.obolibrary.org/obo/MONDO_0017364"
SEPIO = "http://purl.obolibrary.org/obo/SEPIO_"
DIRECTION_IRIS = {"supports": SEPIO + "0000403", "disputes": SEPIO + "0000404", "insufficient_evidence": SEPIO + "0000405",
                  "hypothesis": P + "hypothesis-under-investigation"}
LEVELS = {"supports": "knowledge_assertion", "disputes": "knowledge_assertion", "insufficient_evidence": "not_provided",
          "hypothesis": "prediction"}

# Every claim of the seed: (key, subject, predicate, object, direction, certainty, frequency) as the source gives them.
EXPECTED = [
    ("poems-is-paraneoplastic", "MONDO:0017364", "biolink:subclass_of", "MONDO:0021073", "supports", "established", None),
    ("poems-is-rare", "MONDO:0017364", "biolink:has_attribute", "MONDO:0021136", "supports", "established", None),
    ("pcd-causes-poems", "MONDO:0004960", "biolink:causes", "MONDO:0017364", "supports", "established", None),
    ("pcd-drives-poems", "MONDO:0004960", "biolink:causes", "MONDO:0017364", "supports", "established", None),
    ("poems-clonal-plasma-cells", "MONDO:0017364", "biolink:associated_with", "MONDO:0004960", "supports", "established", None),
    ("poems-most-patients-monoclonal", "MONDO:0017364", "biolink:associated_with", "MONDO:0004960", "supports", "established", "most patients"),
    ("pcd-causes-vegf-overproduction", "MONDO:0004960", "biolink:causes", "HP:0031052", "supports", "established", None),
    ("pcd-causes-cytokine-overproduction", "MONDO:0004960", "biolink:causes", "poems:cytokine-overproduction", "supports", "established", None),
    ("vegf-overproduction-is-cytokine-overproduction", "HP:0031052", "biolink:subclass_of", "poems:cytokine-overproduction", "supports", "established", None),
    ("vegf-normally-grows-vessels", "HGNC:12680", "biolink:actively_involved_in", "GO:0001525", "supports", "established", None),
    ("vegf-excess-causes-vascular-leak", "HP:0031052", "biolink:causes", "HP:0030005", "supports", "established", None),
    ("vegf-excess-causes-nerve-inflammation", "HP:0031052", "biolink:causes", "HP:0031002", "supports", "established", None),
    ("vegf-excess-causes-organ-malfunction", "HP:0031052", "biolink:causes", "poems:organ-system-malfunction", "supports", "established", None),
    ("poems-not-inherited-tldr", "MONDO:0017364", "biolink:has_mode_of_inheritance", "MONDO:0021152", "disputes", "consensus", None),
    ("poems-not-inherited", "MONDO:0017364", "biolink:has_mode_of_inheritance", "MONDO:0021152", "disputes", "established", None),
    ("poems-not-passed-to-children", "MONDO:0017364", "biolink:has_mode_of_inheritance", "MONDO:0021152", "disputes", "established", None),
    ("poems-not-germline-mutations", "MONDO:0017364", "biolink:associated_with", "poems:germline-mutation", "disputes", "established", "typically"),
    ("poems-somatic-abnormalities", "MONDO:0017364", "biolink:has_mode_of_inheritance", "HP:0001442", "supports", "established", None),
    ("pcd-trigger-unknown", "MONDO:0004960", "biolink:has_attribute", "poems:unknown-trigger", "supports", "established", None),
    ("pcd-genetic-spark-under-investigation", "HP:0031052", "biolink:has_attribute", "poems:unknown-trigger", "supports", "established", None),
    ("poems-etiology-elusive", "MONDO:0017364", "biolink:has_attribute", "poems:idiopathic-etiology", "supports", "established", None),
    ("poems-idiopathic-consensus", "MONDO:0017364", "biolink:has_attribute", "poems:idiopathic-etiology", "supports", "consensus", None),
    ("viral-infection-not-clear-trigger", "MONDO:0005108", "biolink:causes", "MONDO:0017364", "insufficient_evidence", None, None),
    ("toxin-not-clear-trigger", "ECTO:0000537", "biolink:causes", "MONDO:0017364", "insufficient_evidence", None, None),
    ("lifestyle-no-evidence", "ECTO:0001078", "biolink:causes", "MONDO:0017364", "insufficient_evidence", None, None),
    ("diet-no-evidence", "ECTO:0001098", "biolink:causes", "MONDO:0017364", "insufficient_evidence", None, None),
    ("environment-no-evidence", "ECTO:0000015", "biolink:causes", "MONDO:0017364", "insufficient_evidence", None, None),
    ("poems-immune-component", "MONDO:0017364", "biolink:associated_with", "HP:0002715", "supports", "established", None),
    ("chronic-immune-stimulation-hypothesis", "poems:chronic-immune-stimulation", "biolink:contributes_to", "MONDO:0004960", "hypothesis", None, None),
    ("viral-trigger-hypothesis", "MONDO:0005108", "biolink:contributes_to", "MONDO:0004960", "hypothesis", None, None),
    ("pcd-primary-risk-factor", "MONDO:0004960", "biolink:associated_with_increased_likelihood_of", "MONDO:0017364", "supports", "established", None),
    ("poems-often-lambda-restricted", "MONDO:0017364", "biolink:associated_with", "poems:lambda-restricted-plasma-cell-dyscrasia", "supports", "established", "often"),
    ("doc-review-status", "source:poems-cause-summary", "poems:reviewStatus", "Medically reviewed summary", "supports", "established", None),
    ("doc-last-updated", "source:poems-cause-summary", "dcterms:modified", "2026-04-07", "supports", "established", None),
    ("doc-first-person-count", "source:poems-cause-summary", "poems:firstPersonReportCount", "1", "supports", "established", None),
    ("doc-community-member-count", "source:poems-cause-summary", "poems:communityMemberCount", "59", "supports", "established", None),
]


@pytest.fixture(scope="module")
def rows(store: OxigraphStore) -> dict[str, dict[str, str]]:
    return {r["key"]: r for r in select_rows(store.query(CLAIMS_QUERY))}


def test_the_expected_table_is_the_whole_summary(seed: Build) -> None:
    assert sorted(e[0] for e in EXPECTED) == sorted(c.key for c in seed.claims if c.source == "poems-cause-summary")


@pytest.mark.parametrize(("key", "s", "p", "o", "direction", "certainty", "frequency"), EXPECTED)
def test_claim_keeps_direction_certainty_frequency_and_quote(rows, seed: Build, key, s, p, o, direction, certainty, frequency) -> None:
    row, ns = rows[key], seed.ns
    assert (ns.compact(row["s"]), ns.compact(row["p"]), ns.compact(row["o"])) == (s, p, o)
    assert row["direction"] == DIRECTION_IRIS[direction]
    assert row["negated"] == ("true" if direction == "disputes" else "false"), "negated only for what the source disputes"
    assert row["level"] == BL + LEVELS[direction]
    assert row.get("certainty") == (None if certainty is None else P + "certainty-" + certainty)
    assert row.get("frequency") == frequency
    text = seed.sources["poems-cause-summary"].text
    assert text[int(row["start"]):int(row["end"])] == row["quote"]


def test_every_claim_quote_slices_its_source(rows, seed: Build) -> None:
    """A quote is the text at its offsets; a table row's quote is the whole line of the file at its offsets."""
    table = seed.sources["hpo-phenotype-annotations"]
    texts = {"poems-cause-summary": seed.sources["poems-cause-summary"].text,  # type: ignore[union-attr]
             "hpo-phenotype-annotations": table.file.read_text(encoding="utf-8")}  # type: ignore[union-attr]
    assert len(rows) == len(seed.claims)
    for claim in seed.claims:
        row = rows[claim.key]
        text = texts[claim.source]
        assert text[int(row["start"]):int(row["end"])] == row["quote"], claim.key
        if claim.row:
            assert text.split("\n")[claim.line - 1] == row["quote"], "the row's quote is its whole line"


def test_only_supported_claims_state_their_direct_triple(store: OxigraphStore) -> None:
    leaks = select_rows(store.query(PREFIXES + """
        SELECT ?g ?s ?p ?o WHERE {
          GRAPH ?g { ?a biolink:subject ?s ; biolink:predicate ?p ; biolink:object ?o ; poems:direction ?d . ?s ?p ?o }
          FILTER (?d != <http://purl.obolibrary.org/obo/SEPIO_0000403>)
        }"""))
    assert leaks == []
    missing = select_rows(store.query(PREFIXES + """
        SELECT ?g WHERE {
          GRAPH ?g { ?a biolink:subject ?s ; biolink:predicate ?p ; biolink:object ?o ;
                        poems:direction <http://purl.obolibrary.org/obo/SEPIO_0000403> FILTER NOT EXISTS { ?s ?p ?o } }
        }"""))
    assert missing == []


def test_no_definitive_evidence_is_never_a_denial_or_a_fact(store: OxigraphStore) -> None:
    """The seed says there is no definitive evidence that diet (ECTO:0001098) causes POEMS syndrome: neither "diet
    causes it" nor "diet does not cause it" may be readable from the graph."""
    assert not bool(store.query(PREFIXES + "ASK { ECTO:0001098 biolink:causes MONDO:0017364 }"))
    assert not bool(store.query(PREFIXES + "ASK { ?a biolink:subject ECTO:0001098 ; biolink:negated true }"))
    assert bool(store.query(PREFIXES + "ASK { ?a biolink:subject ECTO:0001098 ; biolink:negated false ; "
                                       "poems:direction <http://purl.obolibrary.org/obo/SEPIO_0000405> }"))


def test_not_inherited_is_never_readable_as_inherited(store: OxigraphStore) -> None:
    assert not bool(store.query(PREFIXES + "ASK { MONDO:0017364 biolink:has_mode_of_inheritance MONDO:0021152 }"))
    assert bool(store.query(PREFIXES + "ASK { MONDO:0017364 biolink:has_mode_of_inheritance HP:0001442 }"))


def test_mechanism_chain_walks_in_one_query(store: OxigraphStore) -> None:
    rows = select_rows(store.query(PREFIXES + """
        SELECT ?effect WHERE { MONDO:0004960 biolink:causes ?m . ?m biolink:causes ?effect }"""))
    obo = "http://purl.obolibrary.org/obo/"
    assert {r["effect"] for r in rows} == {obo + "HP_0030005", obo + "HP_0031002", P + "organ-system-malfunction"}


def test_mechanism_kept_apart_from_etiology(store: OxigraphStore) -> None:
    """What triggers the dyscrasia is unknown; nothing is asserted to cause the dyscrasia."""
    assert not bool(store.query(PREFIXES + "ASK { ?x biolink:causes MONDO:0004960 }"))
    assert bool(store.query(PREFIXES + "ASK { MONDO:0004960 biolink:has_attribute poems:unknown-trigger }"))


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
    assert isinstance(source, Source)
    assert uncovered(source, seed.claims) == []


def test_build_is_deterministic(tmp_path) -> None:
    first = build(KG_DIR, DEFAULT_BASE_IRI)
    second = build(KG_DIR, DEFAULT_BASE_IRI)
    write_dataset(first.quads, tmp_path / "a", first.ns)
    write_dataset(second.quads, tmp_path / "b", second.ns)
    for name in ("dataset.trig", "dataset.nq"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_claim_iris_are_trusty_uris(seed: Build) -> None:
    assert len(set(seed.iris.values())) == len(seed.claims)
    assert all(re.fullmatch(r"https://w3id.org/poems-kg/np/RA[A-Za-z0-9_-]{43}", iri) for iri in seed.iris.values())
