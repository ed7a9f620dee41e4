"""CDS Hooks 2.0: discovery, cards for a patient with POEMS syndrome, none for others, 400 for malformed requests."""

import copy
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from api import clinical
from api.app import create_app
from api.routers.cds import HEADINGS, MORE, _cards
from kg.direction import CERTAINTIES, DIRECTIONS
from kg.model import Source
from kg.settings import Settings
from kg.store import KGStore
from kg.terms import index
from pipeline.build import Build

SERVICE = "/cds-services/poems-kg-etiology"
# The Card of the CDS Hooks 2.0 specification (Card Attributes; Source): what an EHR relies on when it renders a card.
CARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "indicator", "source"],
    "properties": {
        "uuid": {"type": "string"},
        "summary": {"type": "string", "minLength": 1, "maxLength": 139},
        "detail": {"type": "string"},
        "indicator": {"enum": ["info", "warning", "critical"]},
        "source": {"type": "object", "required": ["label"],
                   "properties": {"label": {"type": "string", "minLength": 1}, "url": {"type": "string", "format": "uri"},
                                  "icon": {"type": "string"}, "topic": {"type": "object"}}},
        "suggestions": {"type": "array"}, "selectionBehavior": {"enum": ["at-most-one", "any"]},
        "overrideReasons": {"type": "array"}, "links": {"type": "array"},
    },
}
RESPONSE_SCHEMA = {"type": "object", "required": ["cards"], "properties": {"cards": {"type": "array", "items": CARD_SCHEMA}}}


def condition(system: str, code: str, display: str, **extra: Any) -> dict[str, Any]:
    return {"resource": {"resourceType": "Condition", "id": code, "subject": {"reference": "Patient/1288992"},
                         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                        "code": "active"}]},
                         "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
                         **extra}}


HYPERTENSION = condition("http://snomed.info/sct", "38341003", "Hypertensive disorder")
POEMS = condition("http://snomed.info/sct", "79268002", "POEMS syndrome")


def hook_request(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "fhirServer": "https://ehr.example.org/fhir/r4",
            "context": {"userId": "Practitioner/example", "patientId": "1288992"},
            "prefetch": {"conditions": {"resourceType": "Bundle", "type": "searchset", "total": len(entries),
                                        "entry": list(entries)}}}


@pytest.fixture(scope="module")
def client(api_store: KGStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), store=api_store)) as c:
        yield c


def test_discovery_names_the_service_and_its_prefetch(client: TestClient) -> None:
    [service] = client.get("/cds-services").json()["services"]
    assert service["id"] == "poems-kg-etiology" and service["hook"] == "patient-view"
    assert service["prefetch"] == {"conditions": "Condition?patient={{context.patientId}}"}


LINE = re.compile(r'^- "(?P<quote>.+)" \((?P<framing>.+)\)$')
SUMMARY = re.compile(r'^(Inheritance|Mechanism|Per the source|Cause): "(?P<quote>.+?)…?"$')


REST = re.compile("^" + re.escape(MORE).replace(r"\{n\}", r"\d+").replace(r"\{path\}", r"/api/v1/\S+") + "$")
FEATURE = re.compile(r"^- (?P<label>.+) \((?P<term>HP:\d{7})\): (?P<often>.+) \((?P<frequency>HP:\d{7})\)$")


def assert_only_the_sources_words(card: dict[str, Any], seed: Build) -> None:
    """Every sentence of a card is a quote of a source or the card's fixed framing of direction and certainty; a
    feature line is a row of a table: its term and frequency as the row gives them, with their labels."""
    texts = [s.text for s in seed.sources.values() if isinstance(s, Source)]
    rows = [c.quote.split("\t") for c in seed.claims if c.row]
    labels = {iri: term.label for iri, term in index(seed.ns.base).items()}
    titles = {s.title for s in seed.sources.values()}
    framings = {d.framing for d in DIRECTIONS.values()} | set(CERTAINTIES.values())
    summary = SUMMARY.match(card["summary"])
    if summary:
        assert any(summary["quote"] in t for t in texts), card["summary"]
    elif card["summary"].startswith("Features: "):
        assert any(card["summary"].endswith(f" annotated in {t}") for t in titles), card["summary"]
    else:
        assert card["summary"] == HEADINGS["disagreements"], card["summary"]
    for line in card["detail"].splitlines():
        if line in HEADINGS.values() or REST.match(line):
            continue
        if feature := FEATURE.match(line):
            assert [feature["term"], feature["frequency"]] in [[r[3], r[7]] for r in rows], line
            assert labels[seed.ns.expand(feature["term"])] == feature["label"], line
            assert labels[seed.ns.expand(feature["frequency"])] == feature["often"], line
            continue
        if line.startswith("Also from: "):
            assert any(line.startswith(f"Also from: {t} <") for t in titles), line
            continue
        match = LINE.match(line)
        assert match, f"a card sentence that is neither framing nor a quote: {line!r}"
        assert any(match["quote"] in t for t in texts), f"not the source's words: {match['quote']!r}"
        framing = match["framing"]
        assert framing in framings or any(framing in (f"supported by: {t}", f"disputed by: {t}") for t in titles), line


def test_patient_with_poems_syndrome_gets_valid_cards(client: TestClient, seed: Build) -> None:
    response = client.post(SERVICE, json=hook_request(HYPERTENSION, POEMS))
    assert response.status_code == 200
    body = response.json()
    jsonschema.validate(body, RESPONSE_SCHEMA, format_checker=jsonschema.FormatChecker())
    cards = body["cards"]
    assert [c["summary"].split(":")[0] for c in cards] == ["Inheritance", "Mechanism", "Per the source", "Cause", "Features"]
    inheritance, mechanism, disputed, cause, features = cards
    assert inheritance["summary"] == 'Inheritance: "POEMS syndrome is not an inherited disease"'
    assert "germline testing" not in inheritance["detail"], "the source makes no recommendation about relatives"
    assert mechanism["summary"] == 'Mechanism: "caused by an underlying plasma cell dyscrasia"'
    assert '"causing blood vessels to leak"' in mechanism["detail"]
    assert "not typically linked to germline mutations" in disputed["summary"]
    assert cause["summary"] == 'Cause: "the etiology of POEMS syndrome remains elusive"'
    assert features["summary"] == ("Features: 51 annotated in Human Phenotype Ontology disease annotations "
                                   "(phenotype.hpoa), release 2025-01-16")
    lines = features["detail"].splitlines()
    assert lines[1] == "- Polyneuropathy (HP:0001271): Obligate (HP:0040280)", "the one obligate feature comes first"
    assert "- Elevated vascular endothelial growth factor level (HP:0031052): Frequent (HP:0040282)" in lines
    assert features["source"]["url"] == "https://w3id.org/poems-kg/source/hpo-phenotype-annotations"
    for card in cards:
        assert_only_the_sources_words(card, seed)
    for card in cards[:4]:
        assert card["source"] == {"label": "What is the underlying cause of POEMS syndrome?",
                                  "url": "https://w3id.org/poems-kg/source/poems-cause-summary"}


def test_cards_of_a_long_summary_say_how_many_claims_they_leave_out(seed: Build, api_store: KGStore) -> None:
    """A section longer than the summary lists (51 features here, 10 listed) ends with how many more and where."""
    poems = "http://purl.obolibrary.org/obo/MONDO_0017364"
    summary = clinical.etiology(api_store, seed.ns, poems, limit=10)
    cards = _cards(summary, {seed.ns.source + s.id: s.title for s in seed.sources.values()})
    features = next(c for c in cards if c["summary"].startswith("Features: "))
    assert features["summary"].startswith("Features: 10 listed of those annotated in "), "not: 10 annotated"
    assert features["detail"].splitlines()[-1] == \
        "- 41 more not listed here: /api/v1/conditions/MONDO:0017364/etiology/features?offset=10&limit=10"
    for card in cards:
        assert_only_the_sources_words(card, seed)


def test_card_sentence_check_catches_words_the_source_does_not_say(seed: Build) -> None:
    card = {"summary": 'Inheritance: "POEMS syndrome is not an inherited disease"', "detail":
            HEADINGS["inheritance"] + "\nThis source gives no basis for germline testing of relatives."}
    with pytest.raises(AssertionError, match="neither framing nor a quote"):
        assert_only_the_sources_words(card, seed)


def test_cards_keep_the_direction_and_certainty_of_the_source(client: TestClient) -> None:
    cards = client.post(SERVICE, json=hook_request(POEMS)).json()["cards"]
    inheritance, cause = cards[0]["detail"].splitlines(), cards[3]["detail"].splitlines()
    assert '- "POEMS syndrome is not an inherited disease" (stated as established)' in inheritance
    assert '- "it is not considered an inherited genetic condition" (stated as the medical consensus)' in inheritance
    hypothesis = next(line for line in cause if "chronic immune stimulation" in line)
    assert hypothesis.endswith("(a hypothesis under investigation, not established)")
    assert cause.index(HEADINGS["hypotheses"]) < cause.index(hypothesis)
    lifestyle = next(line for line in cause if "lifestyle" in line)
    assert lifestyle.endswith("(the source says the evidence is insufficient: not established, and not denied)")
    assert cause.index(HEADINGS["insufficient_evidence"]) < cause.index(lifestyle)
    assert "not so" not in lifestyle and "denied)" in lifestyle


@pytest.mark.parametrize("entries", [
    [HYPERTENSION],
    [],
    # monoclonal gammopathy's own code, broader than POEMS syndrome: the source states no cause of monoclonal gammopathy
    [condition("http://hl7.org/fhir/sid/icd-10-cm", "D47.2", "Monoclonal gammopathy")],
    [condition("http://snomed.info/sct", "79268002", "POEMS syndrome",
               verificationStatus={"coding": [{"code": "refuted"}]})],
    [condition("http://example.org/local-codes", "poems", "POEMS")],
], ids=["unrelated", "no-conditions", "monoclonal-gammopathy-icd10cm-code", "refuted", "unknown-system"])
def test_patient_without_the_condition_gets_no_cards(client: TestClient, entries: list[dict[str, Any]]) -> None:
    response = client.post(SERVICE, json=hook_request(*entries))
    assert response.status_code == 200 and response.json() == {"cards": []}


def _without(request: dict[str, Any], *path: str) -> dict[str, Any]:
    out = copy.deepcopy(request)
    node = out
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return out


@pytest.mark.parametrize(("body", "message"), [
    (_without(hook_request(POEMS), "prefetch"), "prefetch: Field required"),
    (_without(hook_request(POEMS), "context", "patientId"), "context.patientId: Field required"),
    (dict(hook_request(POEMS), hook="order-sign"), "hook: Input should be 'patient-view'"),
    (dict(hook_request(POEMS), prefetch={"conditions": {"resourceType": "Patient"}}), "prefetch.conditions.resourceType"),
    (hook_request({"resource": {"resourceType": "Condition", "code": "not-a-codeable-concept"}}), "code"),
    ([1, 2, 3], "body: Input should be an object"),
])
def test_malformed_hook_requests_get_400_with_a_message(client: TestClient, body: Any, message: str) -> None:
    response = client.post(SERVICE, json=body)
    assert response.status_code == 400 and message in response.json()["detail"]


def test_a_body_that_is_not_json_gets_400(client: TestClient) -> None:
    response = client.post(SERVICE, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and "Invalid JSON" in response.json()["detail"]


@pytest.mark.parametrize(("body", "headers"), [
    (hook_request(POEMS), {}),
    (hook_request(POEMS), {"Accept-Encoding": "gzip"}),
    (hook_request(HYPERTENSION), {}),
    (_without(hook_request(POEMS), "prefetch"), {}),
    ({"hook": "patient-view", "padding": "x" * 2_000_000}, {}),
], ids=["cards", "gzip", "no-cards", "malformed", "over-the-body-limit"])
def test_a_hook_call_is_answered_as_the_full_stack_answers_it(client: TestClient, body: Any,
                                                             headers: dict[str, str]) -> None:
    """A hook call skips the framework (api/fast_path.py); one with an Origin header goes through every layer.
    An EHR gets the same status, cards, type and encoding either way."""
    fast = client.post(SERVICE, json=body, headers=headers)
    full = client.post(SERVICE, json=body, headers={**headers, "Origin": "https://ehr.example.org"})
    assert "access-control-allow-origin" in full.headers and "access-control-allow-origin" not in fast.headers
    assert (fast.status_code, fast.content) == (full.status_code, full.content)
    for name in ("content-type", "content-encoding"):
        assert fast.headers.get(name) == full.headers.get(name), name
