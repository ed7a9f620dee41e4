"""Fuzzing every door that takes input: generated requests, seeded, and the property that none answers 5xx.

Kinds: path segments and query parameters of every GET route; SPARQL queries and updates (mutations of the example
queries, deep nesting, huge literals, odd Unicode, invalid UTF-8); RDF uploads in every format (entity declarations,
external entities, remote ``@context``, deep nesting, mutations); claim JSON; CDS Hooks requests. A refused write must
leave the store as it was. ``tests/test_fuzz.py`` runs a fixed seed and budget in ``make test``;
``python -m bench fuzz --count N --seed S`` runs longer and prints what each kind tried and found.
"""

import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pyoxigraph import RdfFormat

from api.app import create_app
from bench.http import CDS_BODY
from kg.queries import example_queries
from kg.settings import Settings, get_settings
from kg.store import OxigraphStore
from kg.tokens import token_entry
from pipeline.build import build

ADMIN = {"Authorization": "Bearer a-secret"}
WRITER = {"Authorization": "Bearer w-secret"}
ODD = ["", " ", "%00", "%ff%fe", "..", "../../etc/passwd", "MONDO:0017364", "MONDO:", ":", "HP:0000000", "<script>",
       "\u202e\u0000", "é" * 3, "\U0001f9ec", "A" * 5000, "-1", "0", "1e309", "NaN", "[]", "{}", "'", '"', "%", "%%",
       "a b", "?", "#", "\\", "http://example.org/", "file:///etc/passwd", "np/RA", "source/../void"]
RDF_TYPES = ["text/turtle", "application/n-triples", "application/n-quads", "application/trig", "application/rdf+xml",
             "application/ld+json"]
SEEDS = {
    "text/turtle": '@prefix e: <https://example.org/> . e:s e:p "x" ; e:q [ e:r 1 ] .',
    "application/n-triples": '<https://example.org/s> <https://example.org/p> "x" .',
    "application/n-quads": '<https://example.org/s> <https://example.org/p> "x" <https://example.org/g> .',
    "application/trig": '<https://example.org/g> { <https://example.org/s> <https://example.org/p> "x" . }',
    "application/rdf+xml": ('<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY e "https://example.org/">]>'
                            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="&e;">'
                            '<rdf:Description rdf:about="&e;s"><e:p>x</e:p></rdf:Description></rdf:RDF>'),
    "application/ld+json": '{"@context": {"e": "https://example.org/"}, "@id": "e:s", "e:p": "x"}',
}
HOSTILE = {
    "text/turtle": "@prefix e: <https://example.org/> . e:s e:p " + "[ e:p " * 5000 + "1" + " ]" * 5000 + " .",
    "application/rdf+xml": ('<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY a "' + "x" * 1000 + '">'
                            + "".join(f'<!ENTITY b{i} "{("&a;" if i == 0 else f"&b{i - 1};") * 20}">' for i in range(6))
                            + ']><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'),
    "application/ld+json": '{"@context": "https://example.org/remote-context.jsonld", "@id": "https://example.org/s"}',
    "application/n-triples": '<https://example.org/s> <https://example.org/p> "' + "\U0001f9ec" * 2000 + '" .',
}
CLAIM = {"source": "poems-cause-summary", "key": "fuzz", "subject": "MONDO:0017364", "predicate": "biolink:has_attribute",
         "object": "MONDO:0021136", "quote": "rare", "note": "fuzz"}


@dataclass
class Case:
    """One generated request."""

    kind: str
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    write: bool = False  # a write: refused, it must change nothing


def mutate(text: str, rng: random.Random) -> str:
    """A small random edit: delete, duplicate, insert an odd character or bracket, or truncate."""
    if not text:
        return rng.choice(ODD)
    i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
    return rng.choice([
        lambda: text[:i] + text[j:],
        lambda: text[:j] + text[i:j] + text[j:],
        lambda: text[:i] + rng.choice(["{", "}", "(", ")", "[", "]", '"', "<", ">", "\\", "\u0000", "\ud7ff", "é",
                                       "\U0001f9ec", " FILTER(", " SERVICE <http://example.org/> {"]) + text[i:],
        lambda: text[:i],
        lambda: text[:i] + rng.choice(ODD) + text[i:],
    ])()


def _encode(text: str, rng: random.Random) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.15:  # invalid UTF-8
        k = rng.randrange(len(raw) + 1)
        raw = raw[:k] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"]) + raw[k:]
    return raw


def cases(app: FastAPI, rng: random.Random, count: int) -> Iterator[Case]:
    """``count`` requests of each kind, drawn from ``rng``."""
    paths = app.openapi()["paths"]
    routes = ["/", "/fhir/ConceptMap/poems-kg-crosswalk/$translate", *(p for p in paths if "get" in paths[p])]
    queries = [q.text for q in example_queries()]
    for _ in range(count):
        path = re.sub(r"\{[^}]+\}", lambda _: quote(rng.choice(ODD) or "x", safe=":"), rng.choice(routes))
        params = {rng.choice(["format", "page", "limit", "offset", "system", "code", "query", "graph", "x"]): rng.choice(ODD)
                  for _ in range(rng.randrange(3))}
        yield Case("routes", "GET", path, params, {"Accept": rng.choice(["*/*", "text/html", "text/turtle", "x/y", ""])})
    for _ in range(count):
        text = rng.choice(queries)
        for _ in range(rng.randrange(1, 4)):
            text = mutate(text, rng)
        if rng.random() < 0.1:
            text = "SELECT * WHERE { " + "{ " * rng.randrange(100, 5000) + "}" * 2
        if rng.random() < 0.1:
            text = 'SELECT ?x WHERE { BIND("' + "x" * rng.randrange(10_000, 200_000) + '" AS ?x) }'
        if rng.random() < 0.5 and len(text) < 8000:  # longer ones by POST: clients refuse such URLs themselves
            yield Case("sparql queries", "GET", "/sparql", {"query": text})
        else:
            yield Case("sparql queries", "POST", "/sparql", headers={"Content-Type": "application/sparql-query"},
                       body=_encode(text, rng))
    for _ in range(count):
        update = 'INSERT DATA { GRAPH <https://example.org/fuzz> { <https://example.org/s> <https://example.org/p> "x" } }'
        for _ in range(rng.randrange(1, 4)):
            update = mutate(update, rng)
        yield Case("sparql updates", "POST", "/sparql", headers={**ADMIN, "Content-Type": "application/sparql-update"},
                   body=_encode(update, rng), write=True)
    for _ in range(count):
        media = rng.choice(RDF_TYPES)
        text = HOSTILE.get(media, SEEDS[media]) if rng.random() < 0.2 else mutate(SEEDS[media], rng)
        yield Case("rdf uploads", rng.choice(["PUT", "POST"]), "/rdf-graphs/service", {"graph": "https://example.org/fuzz"},
                   {**ADMIN, "Content-Type": media}, _encode(text, rng), write=True)
    for _ in range(count):
        claim: dict[str, object] = dict(CLAIM)
        for _ in range(rng.randrange(1, 3)):
            name = rng.choice([*CLAIM, "direction", "certainty", "supersedes", "extra"])
            claim[name] = rng.choice([None, 1, [], {}, True, rng.choice(ODD), "supports", "disputes"])
        body = json.dumps(claim) if rng.random() < 0.8 else mutate(json.dumps(claim), rng)
        yield Case("claim json", "POST", "/api/v1/claims", headers={**WRITER, "Content-Type": "application/json"},
                   body=_encode(body, rng), write=True)
    for _ in range(count):
        body = CDS_BODY
        for _ in range(rng.randrange(1, 4)):
            body = mutate(body, rng)
        yield Case("cds hooks", "POST", "/cds-services/poems-kg-etiology", headers={"Content-Type": "application/json"},
                   body=_encode(body, rng))


@dataclass
class Outcome:
    """What a run tried and found, by kind."""

    tried: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    slowest: float = 0.0


def run(client: TestClient, generated: Iterator[Case], snapshot: Callable[[], object], time_limit_s: float) -> Outcome:
    """Send each case; a finding is a 5xx, an answer later than ``time_limit_s``, or a refused write that changed data."""
    outcome = Outcome()
    for case in generated:
        before = snapshot() if case.write else None
        started = time.perf_counter()
        response = client.request(case.method, case.path, params=case.params, headers=case.headers, content=case.body)
        took = time.perf_counter() - started
        outcome.tried[case.kind] += 1
        outcome.statuses[(case.kind, response.status_code)] += 1
        outcome.slowest = max(outcome.slowest, took)
        what = f"{case.kind}: {case.method} {case.path} {case.params} {(case.body or b'')[:120]!r}"
        if response.status_code >= 500:
            outcome.findings.append(f"{response.status_code} for {what}: {response.text[:200]}")
        if took > time_limit_s:
            outcome.findings.append(f"{took:.1f} s for {what}")
        if case.write and response.status_code >= 400 and snapshot() != before:
            outcome.findings.append(f"a refused write ({response.status_code}) changed the store: {what}")
    return outcome


def fuzz(count: int, seed: int) -> Outcome:
    """Run ``count`` inputs of each kind against the seed (in process, own store); print and return what each found."""
    settings = get_settings()
    store = OxigraphStore()
    store.load(build(settings.kg_dir, settings.base_iri).quads)
    entries = [token_entry("root", "admin", "a-secret"), token_entry("writer", "write", "w-secret")]
    app = create_app(Settings(tokens=entries, reason_on_start=False, query_timeout_s=5), store=store)
    started = time.perf_counter()
    with TestClient(app, raise_server_exceptions=False) as client:
        outcome = run(client, cases(app, random.Random(seed), count), lambda: store.dump(RdfFormat.N_QUADS), 15)
    print(f"seed {seed}, {count} inputs per kind, {time.perf_counter() - started:.0f} s, slowest answer "
          f"{outcome.slowest:.2f} s")
    print(f"{'kind':>16} {'tried':>6} {'2xx':>5} {'3xx':>5} {'4xx':>5} {'5xx':>5}")
    for kind, tried in outcome.tried.items():
        by: Counter[int] = Counter()
        for (k, status), n in outcome.statuses.items():
            if k == kind:
                by[status // 100] += n
        print(f"{kind:>16} {tried:>6} {by[2]:>5} {by[3]:>5} {by[4]:>5} {by[5]:>5}")
    print(f"findings: {len(outcome.findings)}")
    for finding in outcome.findings:
        print("  " + finding)
    return outcome
