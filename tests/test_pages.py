"""Pages people read: statements in English from one table, one style per direction, readable claims and sources."""

import re

import pytest
from fastapi.testclient import TestClient

from kg.direction import DIRECTIONS
from kg.namespaces import Namespaces
from kg.sentences import _table, statement
from kg.settings import Settings
from pipeline.build import Build
from tests.test_linked_data import claim_path, readable

NS = Namespaces(Settings().base_iri)


def test_every_predicate_the_claims_use_has_a_sentence(seed: Build) -> None:
    """A predicate without a line in ontology/sentences.yaml would read as a bare label: none of the seed's does."""
    used = {NS.compact(c.predicate) for c in seed.claims}
    assert used and used <= set(_table()), sorted(used - set(_table()))


@pytest.mark.parametrize(("predicate", "subject", "obj", "reads"), [
    ("biolink:associated_with", "POEMS syndrome", "Ascites", "POEMS syndrome is associated with Ascites"),
    ("biolink:has_attribute", "POEMS syndrome", "rare", "POEMS syndrome has the attribute “rare”"),
    ("biolink:has_mode_of_inheritance", "POEMS syndrome", "inherited", "POEMS syndrome has the mode of inheritance “inherited”"),
    ("biolink:treats", "a drug", "a disease", "a drug biolink:treats a disease"),  # not in the table: its name, not a guess
])
def test_a_statement_reads_as_its_table_says(predicate: str, subject: str, obj: str, reads: str) -> None:
    assert statement(NS.expand(predicate), subject, obj, NS) == reads


def badges(page: str) -> list[tuple[str, str]]:
    """Each direction badge of a page: its direction and the words it shows (symbol and label)."""
    return [(d, f"{symbol} {label}") for d, symbol, label in re.findall(
        r'<span class="direction d-(\w+)"[^>]*><span aria-hidden="true">(.)</span> ([^<]+)</span>', page)]


@pytest.mark.parametrize("path", ["/entity/MONDO:0017364.html", "/source/poems-cause-summary.html",
                                  "/source/hpo-phenotype-annotations.html"])
def test_every_direction_badge_has_its_symbol_and_label_and_the_page_a_legend(seed_client: TestClient, path: str) -> None:
    page = seed_client.get(path).text
    found = badges(page)
    assert found
    for keyword, words in found:
        assert words == f"{DIRECTIONS[keyword].symbol} {DIRECTIONS[keyword].label}", "never colour alone"
    legend = page[page.index('<p class="legend"'):page.index("</p>", page.index('<p class="legend"'))]
    assert all(d.framing in legend for d in DIRECTIONS.values())


def test_the_entity_page_groups_claims_by_question_with_text_sources_first(seed_client: TestClient) -> None:
    page = seed_client.get("/entity/MONDO:0017364.html").text
    order = re.findall(r'<section id="(\w+)"', page)
    assert order[:3] == ["mechanism", "what_it_is", "inheritance"] and order[-1] == "features", order
    assert "The source states that POEMS syndrome has the attribute “rare”." in re.sub(r"<[^>]+>", "", page)
    table = page[page.index('<table id="feature-table"'):page.index("</table>", page.index('<table id="feature-table"'))]
    assert table.count("<tr class=") == 51 and "ORPHA:2905\t" not in table, "the row's text is on the claim page"
    assert 'data-value="100.0"' in table and 'data-sort="number"' in page, "sortable by how often"
    assert len(page) < 200_000


def test_the_claim_page_shows_its_provenance_as_a_card(seed_client: TestClient, seed: Build) -> None:
    page = seed_client.get(claim_path(seed, "poems-not-inherited"), headers={"Accept": "text/html"}).text
    text = " ".join(readable(page).split())
    assert "The source disputes that POEMS syndrome has the mode of inheritance “inherited”." in text
    for shown in ("<dt>Evidence</dt>", "<dt>Curator's note</dt>", "<dt>Curated by</dt>", "<dt>Created</dt>",
                  "<dt>Licence</dt>", "a Trusty URI", '<details id="graphs">', "@prefix biolink:"):
        assert shown in page, shown
    claim = next(c for c in seed.claims if c.key == "poems-not-inherited")
    assert f'#char={claim.start},{claim.end}"' in page, "the link to the passage uses the source page's fragment"


def test_the_source_page_keeps_paragraphs_marks_out_of_scope_and_lists_claims_in_text_order(seed_client: TestClient) -> None:
    page = seed_client.get("/source/poems-cause-summary.html").text
    article = page[page.index('<article class="source-text">'):page.index("</article>")]
    assert article.count("<p>") >= 5, "one paragraph per line of the text"
    assert article.count('class="out-of-scope"') >= 2 and "(out of scope: An analogy for lay readers" in article
    starts = [int(s) for s in re.findall(r'<a href="#char=(\d+),\d+">', page)]
    assert len(starts) == 36 and starts == sorted(starts)


def test_the_home_page_lists_sources_apart_and_entities_in_english_order(seed_client: TestClient) -> None:
    page = seed_client.get("/").text
    entities = page[page.index('<div id="entities">'):]
    assert "What is the underlying cause of POEMS syndrome?" not in entities, "the source is listed as a source"
    assert "1 claim<" in entities and "(1 claims)" not in entities
    for group in re.findall(r"<ul>(.*?)</ul>", entities, flags=re.S):
        labels = re.findall(r'<a href="[^"]+">([^<]+)</a>', group)
        assert labels == sorted(labels, key=str.casefold)
    assert 'id="entity-search"' in page and "MONDO:0017364" in entities
