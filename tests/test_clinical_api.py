"""The terminology crosswalk, the JSON API (/api/v1) and the FHIR R5 endpoints, on the embedded store and on a server."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fhir.resources.capabilitystatement import CapabilityStatement
from fhir.resources.citation import Citation
from fhir.resources.codesystem import CodeSystem
from fhir.resources.conceptmap import ConceptMap
from fhir.resources.parameters import Parameters

from api import clinical
from api.app import create_app
from kg.model import CurationError
from kg.namespaces import DEFAULT_BASE_IRI
from kg.settings import Settings
from kg.store import KGStore, OxigraphStore, select_rows
from pipeline.build import build

POEMS = "MONDO:0017364"
MONDO = "http://purl.obolibrary.org/obo/mondo.owl"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
# Every code system a clinical user may hold for POEMS syndrome, with how the code relates to it.
POEMS_CODES = [
    (MONDO, POEMS, "skos:exactMatch"),
    ("http://www.orpha.net", "2905", "skos:exactMatch"),
    ("http://id.nlm.nih.gov/mesh", "D016878", "skos:exactMatch"),
    ("http://www.nlm.nih.gov/research/umls", "C0085404", "skos:exactMatch"),
    ("http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl", "C80303", "skos:exactMatch"),
    ("http://snomed.info/sct", "79268002", "skos:exactMatch"),
    ("http://id.who.int/icd/entity", "1555299114", "skos:exactMatch"),
    ("http://purl.obolibrary.org/obo/doid.owl", "DOID:14039", "skos:exactMatch"),
    ("http://www.ebi.ac.uk/efo/efo.owl", "EFO:1001115", "skos:exactMatch"),
    ("http://www.ncbi.nlm.nih.gov/medgen", "39276", "skos:exactMatch"),
    (ICD10CM, "D47.2", "skos:broadMatch"),
]
MGUS = "MONDO:0004960"  # monoclonal gammopathy, whose own ICD-10-CM code D47.2 is (MONDO lists it as exact)


@pytest.fixture(scope="module")
def client(api_store: KGStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), store=api_store)) as c:
        yield c


@pytest.mark.parametrize(("system", "code", "relationship"), POEMS_CODES)
def test_lookup_by_each_code_system_finds_poems_syndrome(client: TestClient, system: str, code: str, relationship: str) -> None:
    response = client.get("/api/v1/lookup", params={"system": system, "code": code})
    assert response.status_code == 200, response.text
    matches = {m["entity"]["curie"]: m for m in response.json()}
    assert matches[POEMS]["entity"]["label"] == "POEMS syndrome" and matches[POEMS]["relationship"] == relationship
    assert set(matches) == ({POEMS, MGUS} if code == "D47.2" else {POEMS})


def test_a_code_exact_for_one_entity_and_broader_for_another_lists_the_exact_one_first(client: TestClient) -> None:
    matches = client.get("/api/v1/lookup", params={"system": ICD10CM, "code": "D47.2"}).json()
    assert [(m["entity"]["curie"], m["relationship"]) for m in matches] == [(MGUS, "skos:exactMatch"), (POEMS, "skos:broadMatch")]


def test_entity_lists_its_codes_as_fhir_codings_with_where_they_were_checked(client: TestClient) -> None:
    body = client.get(f"/api/v1/entities/{POEMS}").json()
    assert body["coding"] == {"system": MONDO, "code": POEMS, "display": "POEMS syndrome"}
    codings = {(c["system"], c["code"]): c for c in body["codings"]}
    assert {(s, c) for s, c, _ in POEMS_CODES[1:]} == set(codings)
    snomed = codings[("http://snomed.info/sct", "79268002")]
    assert snomed["relationship"] == "skos:exactMatch"
    assert snomed["checked_in"].startswith("http://purl.obolibrary.org/obo/mondo/")
    assert codings[(ICD10CM, "D47.2")]["relationship"] == "skos:broadMatch"


def test_an_exact_code_resolves_to_the_entity_but_a_broader_one_does_not(client: TestClient) -> None:
    assert client.get("/api/v1/entities/SCTID:79268002").json()["curie"] == POEMS
    assert client.get("/api/v1/entities/ICD10CM:D47.2").json()["curie"] == MGUS, "exact for monoclonal gammopathy only"
    response = client.get("/api/v1/entities/ICD10CM:C90.00")
    assert response.status_code == 404 and "not an exact match" in response.json()["detail"]


def test_mappings_are_queryable_with_their_provenance(store: OxigraphStore) -> None:
    rows = select_rows(store.query("""
        PREFIX owl: <http://www.w3.org/2002/07/owl#> PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX sssom: <https://w3id.org/sssom/>
        SELECT ?target ?justification ?source WHERE {
          ?m a sssom:Mapping ; owl:annotatedSource <http://purl.obolibrary.org/obo/MONDO_0017364> ;
             owl:annotatedTarget ?target ; sssom:mapping_justification ?justification ; dcterms:source ?source }"""))
    by_target = {r["target"]: r for r in rows}
    assert by_target["http://www.orpha.net/ORDO/Orphanet_2905"]["justification"] == "https://w3id.org/semapv/vocab/ManualMappingCuration"
    assert all(r["source"].startswith("http") for r in rows) and len(rows) == len(POEMS_CODES) - 1
    mondo_release = "http://purl.obolibrary.org/obo/mondo/releases/2026-08-04/mappings/"
    assert by_target["http://purl.obolibrary.org/obo/DOID_14039"]["source"] == mondo_release + "mondo_exactmatch_doid.sssom.tsv"


def test_a_bad_mapping_row_is_refused_with_file_and_line(kg_copy: Path) -> None:
    path = kg_copy / "mappings" / "mondo-exact.sssom.tsv"
    lines = path.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if "Orphanet:2905" in line)
    lines[row] = lines[row].replace("skos:exactMatch", "skos:sameAs")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CurationError) as error:
        build(kg_copy, DEFAULT_BASE_IRI)
    assert error.value.file == path and error.value.line == row + 1 and "predicate_id 'skos:sameAs'" in error.value.message


def test_claims_are_filtered_and_paged(client: TestClient) -> None:
    everything = client.get(f"/api/v1/entities/{POEMS}/claims", params={"limit": 500}).json()
    assert everything["total"] == len(everything["items"]) > 20
    negated = client.get(f"/api/v1/entities/{POEMS}/claims", params={"negated": "true"}).json()
    assert negated["total"] == sum(c["negated"] for c in everything["items"]) and all(c["negated"] for c in negated["items"])
    inheritance = client.get(f"/api/v1/entities/{POEMS}/claims",
                             params={"predicate": "biolink:has_mode_of_inheritance", "certainty": "established"}).json()
    assert {c["object"]["curie"] for c in inheritance["items"]} == {"MONDO:0021152", "HP:0001442"}
    assert {c["certainty"] for c in inheritance["items"]} == {"established"}
    page = client.get(f"/api/v1/entities/{POEMS}/claims", params={"limit": 5, "offset": 5}).json()
    assert [c["iri"] for c in page["items"]] == [c["iri"] for c in everything["items"][5:10]]
    claim = everything["items"][0]
    assert claim["quote"] and claim["source"].endswith("source/poems-cause-summary") and "/np/RA" in claim["iri"]


@pytest.mark.parametrize(("path", "status", "message"), [
    ("/api/v1/entities/MONDO:0005015", 404, "names no entity"),
    ("/api/v1/entities/NOPE:1", 422, "unknown prefix 'NOPE'"),
    ("/api/v1/entities/MONDO:12", 422, "does not match MONDO identifiers"),
    (f"/api/v1/entities/{POEMS}/claims?limit=0", 422, "greater than or equal to 1"),
    (f"/api/v1/entities/{POEMS}/claims?predicate=nope", 422, "predicate"),
    ("/api/v1/lookup?system=http://example.org/x&code=1", 422, "unknown code system"),
    ("/api/v1/lookup?system=http://snomed.info/sct&code=38341003", 404, "no entity of poems-kg has the code"),
])
def test_bad_requests_get_clear_errors(client: TestClient, path: str, status: int, message: str) -> None:
    response = client.get(path)
    assert response.status_code == status and message in str(response.json()["detail"])


def test_etiology_summary_keeps_every_direction(client: TestClient) -> None:
    summary = client.get(f"/api/v1/conditions/{POEMS}/etiology").json()
    germline = [c for c in summary["inheritance"] if c["object"]["curie"] == "MONDO:0021152"]
    assert germline and all(c["direction"] == "disputes" and c["negated"] for c in germline)
    assert {c["certainty"] for c in germline} == {"established", "consensus"}
    somatic = [c for c in summary["inheritance"] if c["object"]["curie"] == "HP:0001442"]
    assert [(c["direction"], c["negated"]) for c in somatic] == [("supports", False)]
    mechanism = {(c["subject"]["curie"], c["object"]["curie"]) for c in summary["mechanism"]}
    assert ("MONDO:0004960", POEMS) in mechanism
    assert ("MONDO:0004960", "HP:0031052") in mechanism
    assert ("HP:0031052", "HP:0030005") in mechanism
    assert all(c["direction"] == "supports" for c in summary["mechanism"])
    assert {c["subject"]["curie"] for c in summary["hypotheses"]} == {"poems:chronic-immune-stimulation", "MONDO:0005108"}
    assert all(c["direction"] == "hypothesis" and c["certainty"] is None and not c["negated"] for c in summary["hypotheses"])
    insufficient = summary["insufficient_evidence"]
    assert {c["subject"]["curie"] for c in insufficient} == {"ECTO:0001078", "ECTO:0001098", "ECTO:0000015",
                                                              "MONDO:0005108", "ECTO:0000537"}
    assert all(c["direction"] == "insufficient_evidence" and not c["negated"] and c["certainty"] is None for c in insufficient)
    assert summary["no_evidence"] == insufficient, "the deprecated name keeps answering the same list"
    assert [c["object"]["curie"] for c in summary["disputed"]] == ["poems:germline-mutation"]
    assert summary["disputed"][0]["frequency"] == "typically"
    assert {c["subject"]["curie"] for c in summary["risk_factors"]} == {"MONDO:0004960"}
    assert "MONDO:0021136" not in {c["object"]["curie"] for section in summary.values() if isinstance(section, list)
                                   for c in section if "object" in c}, "rarity is not etiology"
    assert {c["object"]["curie"] for c in summary["etiology_status"]} == {"poems:idiopathic-etiology", "poems:unknown-trigger"}
    assert summary["disagreements"] == []


def test_etiology_lists_each_section_up_to_its_limit_and_pages_the_rest(client: TestClient) -> None:
    whole = client.get(f"/api/v1/conditions/{POEMS}/etiology", params={"limit": "500"}).json()
    sections = list(clinical.ETIOLOGY_SECTIONS)
    assert whole["more"] == {} and whole["totals"] == {k: len(whole[k]) for k in sections}
    assert whole["totals"]["features"] == 51
    short = client.get(f"/api/v1/conditions/{POEMS}/etiology", params={"limit": "10"}).json()
    assert short["totals"] == whole["totals"] and short["disagreements"] == whole["disagreements"]
    assert all(short[k] == whole[k][:10] for k in sections), "the first claims of each section, in the same order"
    assert set(short["more"]) == {k for k in sections if whole["totals"][k] > 10} == {"features"}
    listed, path = short["features"], short["more"]["features"]
    while path:  # the next pages, until the total
        page = client.get(path).json()
        listed += page["items"]
        following = page["offset"] + page["limit"]
        path = path.split("?")[0] + f"?offset={following}&limit=10" if following < page["total"] else ""
    assert [c["iri"] for c in listed] == [c["iri"] for c in whole["features"]], "each feature once, in order"
    rejected = client.get(f"/api/v1/conditions/{POEMS}/etiology/causes")
    assert rejected.status_code == 422 and "mechanism" in str(rejected.json()["detail"])


def test_claims_filter_by_direction_and_the_deprecated_certainty_values(client: TestClient) -> None:
    def keys(**params: str) -> set[str]:
        page = client.get(f"/api/v1/entities/{POEMS}/claims", params={"limit": "500", **params}).json()
        return {c["iri"] for c in page["items"]}
    insufficient = keys(direction="insufficient_evidence")
    assert len(insufficient) == 5 and keys(certainty="no_evidence") == insufficient
    assert keys(direction="disputes") == keys(negated="true")
    assert not insufficient & keys(negated="true"), "no definitive evidence is never a denial"
    conflicting = client.get(f"/api/v1/entities/{POEMS}/claims", params={"direction": "supports", "certainty": "hypothesis"})
    assert conflicting.status_code == 422 and "direction=hypothesis" in conflicting.json()["detail"]


@pytest.mark.parametrize(("path", "model"), [
    ("/fhir/metadata", CapabilityStatement),
    ("/fhir/CodeSystem/poems-kg", CodeSystem),
    ("/fhir/ConceptMap/poems-kg-crosswalk", ConceptMap),
    ("/fhir/Citation/poems-cause-summary", Citation),
])
def test_fhir_resources_validate_and_round_trip(client: TestClient, path: str, model: type) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    resource = model.model_validate_json(response.content)
    assert model.model_validate_json(resource.model_dump_json(exclude_none=True)) == resource


def test_code_system_holds_the_projects_terms(client: TestClient) -> None:
    body = client.get("/fhir/CodeSystem/poems-kg").json()
    concepts = {c["code"]: c["display"] for c in body["concept"]}
    assert body["url"] == DEFAULT_BASE_IRI + "ontology" and concepts["cytokine-overproduction"] == "cytokine overproduction"


def test_code_system_carries_the_direction_and_certainty_terms_a_fhir_client_meets(client: TestClient) -> None:
    """The one direction poems-kg mints is a FHIR code with its definition; certainty codes no longer hold directions."""
    concepts = {c["code"]: c for c in client.get("/fhir/CodeSystem/poems-kg").json()["concept"]}
    hypothesis = concepts["hypothesis-under-investigation"]
    assert hypothesis["display"] == "hypothesis under investigation" and "without supporting or disputing" in hypothesis["definition"]
    assert {c for c in concepts if c.startswith("certainty-")} == {"certainty-established", "certainty-consensus"}
    assert "direction" in concepts and "Direction" in concepts


def test_citation_describes_the_source(client: TestClient) -> None:
    body = client.get("/fhir/Citation/poems-cause-summary").json()
    assert body["title"] == "What is the underlying cause of POEMS syndrome?" and body["publisher"] == "DiseaseMaps"
    assert body["citedArtifact"]["currentState"][0]["text"] == "Medically reviewed summary"
    assert client.get("/fhir/Citation/nope").status_code == 404


def _matches(client: TestClient, **params: str) -> list[tuple[str, str, str]]:
    response = client.get("/fhir/ConceptMap/$translate", params=params)
    assert response.status_code == 200, response.text
    parameters = Parameters.model_validate_json(response.content)
    out = []
    for p in parameters.parameter or []:
        if p.name == "match":
            parts = {part.name: part for part in p.part or []}
            coding = parts["concept"].valueCoding
            out.append((parts["relationship"].valueCode, coding.system, coding.code))
    return out


def test_translate_maps_icd10cm_to_mondo_and_back(client: TestClient) -> None:
    assert _matches(client, system=ICD10CM, sourceCode="D47.2") == [("equivalent", MONDO, MGUS),
                                                                    ("source-is-broader-than-target", MONDO, POEMS)]
    assert _matches(client, system=MONDO, sourceCode=POEMS, targetSystem=ICD10CM) == [
        ("source-is-narrower-than-target", ICD10CM, "D47.2")]
    assert ("equivalent", "http://snomed.info/sct", "79268002") in _matches(client, system=MONDO, sourceCode=POEMS)
    assert _matches(client, system="http://snomed.info/sct", sourceCode="38341003") == []
    assert client.get("/fhir/ConceptMap/$translate", params={"system": MONDO}).status_code == 400
