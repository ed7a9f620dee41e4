"""CDS Hooks 2.0 service (``/cds-services``): on ``patient-view``, cards on the etiology of the patient's conditions.

A condition is recognised when one of its codings is the entity's own code or an exact match of it (a broader code,
such as ICD-10-CM D47.2 for POEMS syndrome, also covers other conditions and is not enough). The cards quote the
source and keep its direction and certainty: every sentence of a card is either the source's own words or the
card's fixed framing (``HEADINGS``, the direction and certainty words of ``kg.direction``, source titles), so a card
never says anything the source does not. The service never calls back to a FHIR server: the ``conditions`` prefetch is required.
"""

import json
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from api import clinical
from api.cache import AnswerStore, kept
from api.responses import errors
from kg.direction import CERTAINTIES, DIRECTIONS
from kg.namespaces import CurieError, Namespaces
from kg.store import KGStore

router = APIRouter(prefix="/cds-services", tags=["CDS Hooks"])
SERVICE_ID = "poems-kg-etiology"
SUMMARY_MAX = 139  # CDS Hooks: a card summary is under 140 characters
# The cards' own words: these headings, the framing of direction and certainty (kg.direction), source titles; every
# other sentence is a quote of the source.
HEADINGS = {
    "inheritance": "What the source says about inheritance:",
    "mechanism": "The mechanism, in the source's words:",
    "disputed": "What the source says is not so:",
    "etiology_status": "What the source says about the cause:",
    "hypotheses": "Hypotheses under investigation (not established):",
    "insufficient_evidence": "Not established (the source says the evidence is insufficient; this is not a denial):",
    "disagreements": "Sources disagree:",
    "features": "Features annotated in the source, most frequent first (term, then frequency, as the source gives them):",
}
MORE = "- {n} more not listed here: {path}"  # the end of a section that lists fewer claims than it has
IGNORED_VERIFICATION = {"refuted", "entered-in-error"}


class CodingIn(BaseModel):
    """A FHIR Coding as an EHR sends it."""

    system: str | None = None
    code: str | None = None


class ConditionIn(BaseModel):
    """The parts of a FHIR Condition the service reads."""

    resourceType: Literal["Condition"]  # noqa: N815 - FHIR element name
    code: dict[str, Any] | None = None
    verificationStatus: dict[str, Any] | None = None  # noqa: N815 - FHIR element name

    def codings(self) -> list[CodingIn]:
        """The codings of ``Condition.code``."""
        return [CodingIn.model_validate(c) for c in (self.code or {}).get("coding", [])]

    def refuted(self) -> bool:
        """Whether the EHR marks the condition refuted or entered in error."""
        return any(c.get("code") in IGNORED_VERIFICATION for c in (self.verificationStatus or {}).get("coding", []))


class BundleEntry(BaseModel):
    """One entry of a FHIR Bundle."""

    resource: dict[str, Any]


class BundleIn(BaseModel):
    """A FHIR Bundle (searchset) of the patient's conditions."""

    resourceType: Literal["Bundle"]  # noqa: N815 - FHIR element name
    entry: list[BundleEntry] = Field(default_factory=list)


class PatientViewContext(BaseModel):
    """``patient-view`` context."""

    userId: str  # noqa: N815 - CDS Hooks field name
    patientId: str  # noqa: N815 - CDS Hooks field name
    encounterId: str | None = None  # noqa: N815 - CDS Hooks field name


class Prefetch(BaseModel):
    """The prefetch this service asks for."""

    conditions: BundleIn


class HookRequest(BaseModel):
    """A CDS Hooks 2.0 request for ``patient-view``."""

    hook: Literal["patient-view"]
    hookInstance: str  # noqa: N815 - CDS Hooks field name
    context: PatientViewContext
    prefetch: Prefetch
    fhirServer: str | None = None  # noqa: N815 - CDS Hooks field name


DISCOVERY = {"services": [{
    "hook": "patient-view", "id": SERVICE_ID, "title": "POEMS syndrome etiology (poems-kg)",
    "description": "For a patient with POEMS syndrome: whether it is inherited, its plasma cell / VEGF mechanism, and "
                   "what is unknown about its cause, each quoted from a medically reviewed source.",
    "prefetch": {"conditions": "Condition?patient={{context.patientId}}"},
}]}


@router.get("")
def discovery() -> dict[str, Any]:
    """CDS Hooks discovery: the services offered and the prefetch each needs."""
    return DISCOVERY


def _framing(claim: clinical.ClaimOut) -> str:
    """How firmly the source says what the quote says, or, without a certainty, what its direction is."""
    return CERTAINTIES[claim.certainty] if claim.certainty else DIRECTIONS[claim.direction].framing


def _line(claim: clinical.ClaimOut) -> str:
    return f'- "{claim.quote}" ({_framing(claim)})'


def _summary(heading: str, claims: list[clinical.ClaimOut], condition: str) -> str:
    """The heading and the source's own words: the shortest quote about the condition itself stated as established."""
    lead = min(claims, key=lambda c: (condition not in (c.subject.iri, c.object.iri), c.certainty != "established",
                                      len(c.quote), c.quote))
    text = f'{heading}: "{lead.quote}"'
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 2].rstrip() + '…"'


def _by_source(claims: list[clinical.ClaimOut]) -> dict[str, list[clinical.ClaimOut]]:
    """Claims grouped by source, each group most frequent first (HPO's frequency terms sort from obligate to excluded)."""
    groups: dict[str, list[clinical.ClaimOut]] = {}
    for claim in sorted(claims, key=lambda c: (c.frequency_term.curie if c.frequency_term else "~", c.object.label or "")):
        groups.setdefault(claim.source, []).append(claim)
    return groups


def _feature(claim: clinical.ClaimOut) -> str:
    """A feature as the source names it: the term and its frequency (``excluded`` when the source says it is absent)."""
    term = f"{claim.object.label} ({claim.object.curie})"
    if claim.negated:
        return f"- NOT {term} ({_framing(claim)})"
    often = claim.frequency_term
    frequency = (f"{often.label} ({often.curie})" if often else
                 f"{claim.count}/{claim.total}" if claim.count is not None else
                 f"{claim.percentage:g}%" if claim.percentage is not None else claim.frequency or "frequency not given")
    return f"- {term}: {frequency}"


def _rest(e: clinical.Etiology, *sections: str) -> list[str]:
    """For each of ``sections`` that lists fewer claims than it has, the line that says how many more and where."""
    return [MORE.format(n=e.totals[s] - len(getattr(e, s)), path=e.more[s]) for s in sections if s in e.more]


def _card(summary: str, lines: list[str], sources: list[str], titles: dict[str, str]) -> dict[str, Any]:
    source, others = sources[0], sorted(set(sources[1:]) - {sources[0]})
    detail = "\n".join(dict.fromkeys([*lines, *(f"Also from: {titles.get(s, s)} <{s}>" for s in others)]))
    return {"summary": summary, "indicator": "info", "detail": detail,
            "source": {"label": titles.get(source, source), "url": source}}


def _cards(e: clinical.Etiology, titles: dict[str, str]) -> list[dict[str, Any]]:
    """One card per question the sources answer, each in their words with the fixed framing of direction and certainty.

    Only a condition whose cause or inheritance the sources state gets cards: a source about another disease, which
    names this condition as that disease's cause, says nothing about this condition's own etiology.
    """
    if not (e.mechanism or e.inheritance):
        return []
    cards = []
    for heading, key, claims in (("Inheritance", "inheritance", e.inheritance), ("Mechanism", "mechanism", e.mechanism),
                                 ("Per the source", "disputed", e.disputed)):
        if claims:
            lines = [HEADINGS[key], *map(_line, claims), *_rest(e, key)]
            cards.append(_card(_summary(heading, claims, e.condition.iri), lines, [c.source for c in claims], titles))
    unknown = e.etiology_status + e.hypotheses + e.insufficient_evidence
    if unknown:
        lines = [HEADINGS["etiology_status"], *map(_line, e.etiology_status)] if e.etiology_status else []
        if e.hypotheses:
            lines += [HEADINGS["hypotheses"], *map(_line, e.hypotheses)]
        if e.insufficient_evidence:
            lines += [HEADINGS["insufficient_evidence"], *map(_line, e.insufficient_evidence)]
        lines += _rest(e, "etiology_status", "hypotheses", "insufficient_evidence")
        cards.append(_card(_summary("Cause", e.etiology_status or unknown, e.condition.iri), lines, [c.source for c in unknown], titles))
    complete = "features" not in e.more  # else the counts of a source's features are of those listed only
    for source, features in _by_source(e.features).items():
        title = titles.get(source, source)
        lines = [HEADINGS["features"], *map(_feature, features), *_rest(e, "features")]
        count = f"{len(features)} annotated in" if complete else f"{len(features)} listed of those annotated in"
        cards.append(_card(f"Features: {count} {title}"[:SUMMARY_MAX], lines, [source], titles))
    if e.disagreements:
        lines = [HEADINGS["disagreements"]]
        for d in e.disagreements:
            lines += [f'- "{d.supporting.quote}" (supported by: {titles.get(d.supporting.source, d.supporting.source)})',
                      f'- "{d.disputing.quote}" (disputed by: {titles.get(d.disputing.source, d.disputing.source)})']
        sources = [s for d in e.disagreements for s in (d.supporting.source, d.disputing.source)]
        cards.append(_card(HEADINGS["disagreements"], lines, sources, titles))
    return cards


def _codings(request: HookRequest) -> list[tuple[str, str]]:
    """The codings (system, code) of the patient's conditions, in order, without refuted conditions."""
    found: list[tuple[str, str]] = []
    for entry in request.prefetch.conditions.entry:
        if entry.resource.get("resourceType") != "Condition":
            continue
        condition = ConditionIn.model_validate(entry.resource)
        if condition.refuted():
            continue
        found += [(c.system, c.code) for c in condition.codings() if c.system and c.code]
    return found


def _coding_cards(store: KGStore, ns: Namespaces, kept: AnswerStore, system: str, code: str) -> tuple[str | None, bytes]:
    """The entity of poems-kg a coding names (own code or exact match only), and its cards encoded; (None, b"") for none.

    ``kept``: where the details of each claim are kept between answers (``api.cache.claim_parts``).
    """
    try:
        iri = clinical.resolve(store, ns, ns.from_coding(system, code))
    except (CurieError, clinical.UnknownEntityError):
        return None, b""
    summary = clinical.etiology(store, ns, iri, kept=kept)
    sources = {c.source for section in (summary.mechanism, summary.inheritance, summary.etiology_status, summary.features,
                                        summary.disputed, summary.hypotheses, summary.insufficient_evidence)
               for c in section} | {s.source for d in summary.disagreements for s in (d.supporting, d.disputing)}
    return iri, _encoded(_cards(summary, clinical.source_titles(store, ns, sources)))


def _encoded(cards: list[dict[str, Any]]) -> bytes:
    """Cards as JSON array items, encoded as ``JSONResponse`` encodes them (kept encoded: most calls only join them)."""
    return ",".join(json.dumps(card, ensure_ascii=False, separators=(",", ":")) for card in cards).encode()


async def hook_cards(state: State, body: bytes) -> Response:
    """The answer to a ``patient-view`` request body; a patient with none of the graph's conditions gets no cards.

    The one place that answers the hook: the route and the lean path (``api.fast_path``) both call it.
    """
    hook = _parse(body)
    store: KGStore = state.store
    ns = Namespaces(state.settings.base_iri)
    cards: list[bytes] = []
    seen: set[str] = set()
    for system, code in _codings(hook):
        # the cards of a code depend on the data alone: kept per data version, never with the patient's request
        iri, found = await kept(state.answers, ("cds", state.version, system, code),
                                partial(run_in_threadpool, _coding_cards, store, ns, state.parts, system, code),
                                lambda value: len(value[1]))
        if iri is not None and iri not in seen and found:
            seen.add(iri)
            cards.append(found)
    return Response(b'{"cards":[' + b",".join(cards) + b"]}", media_type="application/json")


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` written in place, so that it resolves inside the OpenAPI document too."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            return walk(defs[ref.removeprefix("#/$defs/")]) if ref.startswith("#/$defs/") else {k: walk(v) for k, v in node.items()}
        return [walk(v) for v in node] if isinstance(node, list) else node

    return dict(walk(schema))


@router.post(f"/{SERVICE_ID}", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": _inlined(HookRequest.model_json_schema())}}}}, responses=errors(400, 413))
async def patient_view(request: Request) -> Response:
    """Cards for a ``patient-view`` hook; a patient with none of the graph's conditions gets no cards."""
    return await hook_cards(request.app.state, await request.body())


def _parse(body: bytes) -> HookRequest:
    """The hook request, or 400 naming what is wrong and where."""
    try:
        request = HookRequest.model_validate_json(body)
        for entry in request.prefetch.conditions.entry:
            if entry.resource.get("resourceType") == "Condition":
                ConditionIn.model_validate(entry.resource)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}" for err in exc.errors()[:5])
        raise HTTPException(400, f"not a valid patient-view request ({where})") from None
    return request
