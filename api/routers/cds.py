"""CDS Hooks 2.0 service (``/cds-services``): on ``patient-view``, cards on the etiology of the patient's conditions.

A condition is recognised when one of its codings is the entity's own code or an exact match of it (a broader code,
such as ICD-10-CM D47.2 for POEMS syndrome, also covers other conditions and is not enough). The cards quote the
source and keep its certainty: hypotheses are labelled as hypotheses, and nothing is stated more firmly than the
source states it. The service never calls back to a FHIR server: the ``conditions`` prefetch is required.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from api import clinical
from api.deps import app_settings, get_store
from api.named_queries import run_query
from kg.namespaces import CurieError, Namespaces
from kg.settings import Settings
from kg.store import KGStore, select_rows

router = APIRouter(prefix="/cds-services", tags=["CDS Hooks"])
SERVICE_ID = "poems-kg-etiology"
SUMMARY_MAX = 139  # CDS Hooks: a card summary is under 140 characters
CERTAINTY_WORDS = {"established": "stated as established", "consensus": "stated as medical consensus",
                   "hypothesis": "a hypothesis under investigation, not established",
                   "no_evidence": "no definitive evidence"}
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


def _summary(text: str) -> str:
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _line(claim: clinical.ClaimOut) -> str:
    return f'- "{claim.quote}" ({CERTAINTY_WORDS[claim.certainty]})'


def _card(summary: str, lines: list[str], claims: list[clinical.ClaimOut], titles: dict[str, str]) -> dict[str, Any]:
    source = claims[0].source
    others = sorted({c.source for c in claims} - {source})
    detail = "\n".join(dict.fromkeys([*lines, *(f"Also from: {titles.get(s, s)} <{s}>" for s in others)]))
    return {"summary": _summary(summary), "indicator": "info", "detail": detail,
            "source": {"label": titles.get(source, source), "url": source}}


def _cards(e: clinical.Etiology, titles: dict[str, str]) -> list[dict[str, Any]]:
    cond = e.condition.label or e.condition.curie
    cards = []
    denied = [c for c in e.inheritance if c.negated]
    if denied:
        modes = sorted({c.object.label or c.object.curie for c in denied})
        stated = sorted({c.object.label or c.object.curie for c in e.inheritance if not c.negated})
        lines = [f"The source states that {cond} is not inherited:", *map(_line, e.inheritance)]
        if stated:
            lines.append(f"What it names instead: {', '.join(stated)}.")
        lines.append("This source gives no basis for germline testing of relatives.")
        cards.append(_card(f"{cond} is not inherited (no {', '.join(modes)}), per the source", lines, e.inheritance, titles))
    if e.mechanism:
        direct = {c.subject.iri: c.subject.label or c.subject.curie for c in e.mechanism if c.object.iri == e.condition.iri}
        effects = sorted({c.object.label or c.object.curie for c in e.mechanism
                          if c.subject.iri in direct and c.object.iri != e.condition.iri})
        head = f"{cond}: caused by {', '.join(sorted(direct.values()))}" if direct else f"Mechanism of {cond}"
        lines = ["Mechanism as the source states it:", *map(_line, e.mechanism)]
        cards.append(_card(f"{head}, which leads to {', '.join(effects)}" if effects else head, lines, e.mechanism, titles))
    unknown = e.etiology_status + e.hypotheses + e.no_evidence
    if unknown:
        status = sorted({f"{c.subject.label or c.subject.curie}: {c.object.label or c.object.curie}" for c in e.etiology_status})
        lines = [*map(_line, e.etiology_status)]
        if e.hypotheses:
            lines += ["Hypotheses under investigation (not established):", *map(_line, e.hypotheses)]
        if e.no_evidence:
            lines += ["No definitive evidence for:", *map(_line, e.no_evidence)]
        head = f"Cause of {cond} not fully understood ({'; '.join(status)})" if status else f"What is unknown about the cause of {cond}"
        cards.append(_card(head, lines, unknown, titles))
    return cards


def _conditions(request: HookRequest, store: KGStore, ns: Namespaces) -> list[str]:
    """The entities of poems-kg among the patient's conditions (own code or exact match only)."""
    found: list[str] = []
    for entry in request.prefetch.conditions.entry:
        if entry.resource.get("resourceType") != "Condition":
            continue
        condition = ConditionIn.model_validate(entry.resource)
        if condition.refuted():
            continue
        for coding in condition.codings():
            if not (coding.system and coding.code):
                continue
            try:
                iri = clinical.resolve(store, ns, ns.from_coding(coding.system, coding.code))
            except (CurieError, clinical.UnknownEntityError):
                continue
            if iri not in found:
                found.append(iri)
    return found


@router.post(f"/{SERVICE_ID}", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": HookRequest.model_json_schema()}}}})
async def patient_view(request: Request, store: Annotated[KGStore, Depends(get_store)],
                       settings: Annotated[Settings, Depends(app_settings)]) -> dict[str, Any]:
    """Cards for a ``patient-view`` hook; a patient with none of the graph's conditions gets no cards."""
    hook = _parse(await request.body())
    return await run_in_threadpool(_respond, hook, store, Namespaces(settings.base_iri))


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


def _respond(request: HookRequest, store: KGStore, ns: Namespaces) -> dict[str, Any]:
    cards: list[dict[str, Any]] = []
    for iri in _conditions(request, store, ns):
        summary = clinical.etiology(store, ns, iri)
        sources = {c.source for section in (summary.mechanism, summary.inheritance, summary.etiology_status,
                                            summary.hypotheses, summary.no_evidence) for c in section}
        titles = {s: r["title"] for s in sources for r in select_rows(run_query(store, ns, "source-citation", SOURCE=s))}
        cards += _cards(summary, titles)
    return {"cards": cards}
