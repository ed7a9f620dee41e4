"""Input is bounded by what it expands to, not only by its bytes: entity expansion, literal length, triples per request.

Each refusal names the limit and its setting, writes nothing, and leaves the server's memory where it was.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from kg.settings import Settings
from kg.store import KGStore, OxigraphStore
from pipeline.bulk import BulkImportError, import_file
from pipeline.cli import app
from tests.conftest import TOKEN_ENTRIES, contents

ADMIN = {"Authorization": "Bearer a-secret"}
GRAPH = "https://example.org/uploaded"
RDF_XML = {**ADMIN, "Content-Type": "application/rdf+xml"}
LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">\n' for i in range(1, 10))
BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
<!ENTITY l0 "ha">
{LAUGHS}]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="https://example.org/x"><rdfs:label>&l9;</rdfs:label></rdf:Description>
</rdf:RDF>
"""  # under 1 KB; expanded, 2 GB
UNUSED_LAUGHS = BILLION_LAUGHS.replace("<rdfs:label>&l9;</rdfs:label>", "")  # declared, never referenced
EXTERNAL = BILLION_LAUGHS.replace('<!ENTITY l0 "ha">', '<!ENTITY l0 SYSTEM "file:///etc/passwd">')
ABBREVIATED = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY ex "https://example.org/" > <!ENTITY rdfs "http://www.w3.org/2000/01/rdf-schema#" > ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="&rdfs;">
  <rdf:Description rdf:about="&ex;y"><rdfs:label>an ontology file abbreviating its namespaces</rdfs:label></rdf:Description>
</rdf:RDF>
"""


def resident_bytes() -> int:
    """This process's resident memory now (not its peak)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def put(client: TestClient, body: str, headers: dict[str, str]) -> tuple[int, str]:
    response = client.put("/rdf-graphs/service", params={"graph": GRAPH}, content=body.encode(), headers=headers)
    return response.status_code, response.text


@pytest.mark.parametrize("document", [BILLION_LAUGHS, UNUSED_LAUGHS], ids=["referenced", "declared-only"])
def test_billion_laughs_is_refused_before_parsing_with_memory_unchanged(write_client: TestClient,
                                                                        writable_store: KGStore, document: str) -> None:
    """Declared only is enough: the parser expands each entity where it is declared (the fuzz test found it)."""
    before, memory = contents(writable_store), resident_bytes()
    status, text = put(write_client, document, RDF_XML)
    assert status == 413 and "POEMS_KG_MAX_XML_EXPANSION_BYTES" in text and "nothing was written" in text
    assert contents(writable_store) == before
    assert resident_bytes() - memory < 5_000_000, "the expansion was computed, never performed"


def test_external_entities_are_refused_and_namespace_abbreviations_accepted(write_client: TestClient) -> None:
    status, text = put(write_client, EXTERNAL, RDF_XML)
    assert status == 413 and "external entity 'l0'" in text
    status, text = put(write_client, ABBREVIATED, RDF_XML)
    assert status in (201, 204), text
    turtle = write_client.get("/rdf-graphs/service", params={"graph": GRAPH}, headers={"Accept": "text/turtle"}).text
    assert "<https://example.org/y>" in turtle


@pytest.fixture
def small_limits(writable_store: KGStore) -> Iterator[TestClient]:
    """The app with a literal limit of 100 characters and a request limit of 10 triples."""
    settings = Settings(tokens=TOKEN_ENTRIES, reason_on_start=False, max_literal_chars=100, max_request_quads=10)
    with TestClient(create_app(settings, store=writable_store)) as client:
        yield client


def test_a_long_literal_and_too_many_triples_are_refused(small_limits: TestClient, writable_store: KGStore) -> None:
    before, turtle = contents(writable_store), {**ADMIN, "Content-Type": "text/turtle"}
    status, text = put(small_limits, f'<https://example.org/x> <https://example.org/p> "{"x" * 101}" .', turtle)
    assert status == 413 and "literal of 101 characters" in text and "POEMS_KG_MAX_LITERAL_CHARS" in text
    many = "".join(f"<https://example.org/x> <https://example.org/p> {i} .\n" for i in range(11))
    status, text = put(small_limits, many, turtle)
    assert status == 413 and "more than 10 triples" in text and "POEMS_KG_MAX_REQUEST_QUADS" in text
    assert contents(writable_store) == before
    status, _ = put(small_limits, many.split("\n", 1)[1], turtle)
    assert status in (201, 204), "ten triples are within the limit"


def test_cli_import_refuses_entity_expansion_and_long_literals(tmp_path: Path) -> None:
    laughs = tmp_path / "laughs.owl"
    laughs.write_text(BILLION_LAUGHS, encoding="utf-8")
    store = OxigraphStore()
    with pytest.raises(BulkImportError, match=r"POEMS_KG_MAX_XML_EXPANSION_BYTES.*nothing was imported"):
        import_file(store, laughs, GRAPH)
    long = tmp_path / "long.ttl"
    long.write_text(f'<https://example.org/x> <https://example.org/p> "{"x" * 101}" .', encoding="utf-8")
    with pytest.raises(BulkImportError, match="longer than the limit of 100 characters"):
        import_file(store, long, GRAPH, limits=Settings(max_literal_chars=100))
    assert len(store) == 0
    result = CliRunner().invoke(app, ["import", str(laughs), "--store", str(tmp_path / "store"), "--graph", GRAPH])
    assert result.exit_code != 0 and "laughs.owl" in result.output and "nothing was imported" in result.output
