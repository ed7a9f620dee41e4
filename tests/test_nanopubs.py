"""Real nanopublications: every claim's Trusty URI and signature verified by the reference implementation
(``nanopub-sign``, the Rust library behind the nanopublication tools), offline."""

import gzip
from collections.abc import Iterator
from pathlib import Path

import nanopub_sign
import pytest
from fastapi.testclient import TestClient
from pyoxigraph import Quad, RdfFormat, serialize
from typer.testing import CliRunner

from api.app import create_app
from kg.settings import DEFAULT_BASE_IRI, Settings
from kg.store import OxigraphStore
from kg.trusty import Signer
from pipeline.build import Build, build
from pipeline.cli import app
from shapes.validate import nanopublication_quads
from tests.conftest import KG_DIR, TOKEN_ENTRIES

ORCID = "https://orcid.org/0000-0002-1825-0097"  # ORCID's own example identifier
WRITER = {"Authorization": "Bearer w-secret"}


def trig(quads: list[Quad], iri: str) -> str:
    """One nanopublication's four graphs as TriG, as the nanopublication tools read it."""
    own = [q for q in quads if getattr(q.graph_name, "value", "").startswith(iri)]
    return (serialize(own, format=RdfFormat.TRIG) or b"").decode()


def checked(text: str) -> dict:
    """The reference implementation's verdict: its info on the nanopublication, or its exception."""
    return nanopub_sign.Nanopub(text).check().info()


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A key made by `poems-kg keygen`."""
    path = tmp_path_factory.mktemp("key") / "signing-key.pem"
    result = CliRunner().invoke(app, ["keygen", str(path), "--signer", ORCID])
    assert result.exit_code == 0, result.output
    assert path.stat().st_mode & 0o077 == 0, "only its owner may read the private key"
    return path


@pytest.fixture(scope="module")
def signed(key: Path) -> Build:
    return build(KG_DIR, DEFAULT_BASE_IRI, signer=Signer(ORCID, key))


def test_every_claim_is_a_trusty_nanopublication_the_reference_implementation_verifies(seed: Build) -> None:
    for key, iri in seed.iris.items():
        info = checked(trig(seed.quads, iri))
        assert info["trusty_hash"] == iri.rsplit("/", 1)[1] and not info["signature"], key


def test_every_signed_claim_verifies_and_one_altered_character_does_not(signed: Build) -> None:
    for key, iri in signed.iris.items():
        info = checked(trig(signed.quads, iri))
        assert info["signature"] and info["trusty_hash"] == iri.rsplit("/", 1)[1], key
    text = trig(signed.quads, signed.iris["poems-not-inherited"])
    assert "POEMS syndrome is not an inherited disease" in text
    with pytest.raises(Exception, match="hash of the nanopublication is different"):
        checked(text.replace("POEMS syndrome is not an inherited disease", "POEMS syndrome is not an inherited diseaze"))


def test_signing_changes_no_iri_of_what_it_does_not_sign(seed: Build, signed: Build) -> None:
    """The signature is part of the nanopublication, so every signed IRI differs; the claims are the same."""
    assert set(seed.iris) == set(signed.iris) and not set(seed.iris.values()) & set(signed.iris.values())


def test_an_iri_changes_exactly_when_its_claim_does(kg_copy: Path, seed: Build) -> None:
    """A new claim above another (which moves its line) leaves the other's IRI; a one-word change of a quote does not."""
    path = kg_copy / "claims" / "poems-cause-summary.yaml"
    text = path.read_text()
    first = text.index("  - key: poems-is-paraneoplastic")
    path.write_text(text[:first] + """  - key: fixture-inserted-first
    subject: MONDO:0017364
    predicate: biolink:has_attribute
    object: MONDO:0021136
    quote: "rare"
    note: Fixture claim that moves every other claim down.
""" + text[first:])
    moved = build(kg_copy, DEFAULT_BASE_IRI)
    assert {k: moved.iris[k] for k in seed.iris} == seed.iris
    assert [c.line for c in moved.claims if c.key == "poems-is-rare"] != [c.line for c in seed.claims if c.key == "poems-is-rare"]
    path.write_text(path.read_text().replace('quote: "POEMS syndrome is not an inherited disease"',
                                             'quote: "POEMS syndrome is not an inherited"'))
    edited = build(kg_copy, DEFAULT_BASE_IRI)
    assert edited.iris["poems-not-inherited"] != seed.iris["poems-not-inherited"]
    assert edited.iris["pcd-causes-poems"] == seed.iris["pcd-causes-poems"]


@pytest.fixture
def signing_client(key: Path) -> Iterator[TestClient]:
    """The app over a store it builds itself, with signing and write tokens configured."""
    settings = Settings(tokens=TOKEN_ENTRIES, reason_on_start=False, sign_key_file=key, signer=ORCID)
    with TestClient(create_app(settings, store=None)) as client:
        yield client


def test_a_superseding_write_is_signed_verifiable_and_points_at_the_verifiable_old_one(signing_client: TestClient,
                                                                                      key: Path) -> None:
    body = {"source": "poems-cause-summary", "key": "fixture-rare-restated", "subject": "MONDO:0017364",
            "predicate": "biolink:has_attribute", "object": "MONDO:0021136", "quote": "rare", "note": "Fixture write."}
    old = signing_client.post("/api/v1/claims", json=body, headers=WRITER).json()["iri"]
    new = signing_client.post(f"/api/v1/claims/{old.rsplit('/', 1)[1]}/supersede",
                              json={**body, "key": "fixture-rare-corrected", "certainty": "consensus"}, headers=WRITER).json()["iri"]
    texts = {iri: signing_client.get("/np/" + iri.rsplit("/", 1)[1], headers={"Accept": "application/trig"}).text
             for iri in (old, new)}
    for iri, text in texts.items():
        info = checked(text)
        assert info["signature"] and info["trusty_hash"] == iri.rsplit("/", 1)[1]
    assert f"<{old}>" in texts[new] and "supersedes" in texts[new]
    # the private key is nowhere the server publishes
    secret = "".join(key.read_text().splitlines()[1:-1])[:60]
    dump = gzip.decompress(signing_client.get("/dumps/dataset.nq.gz").content).decode()
    assert secret not in dump and secret not in texts[new] and "hasPublicKey" in texts[new]


def test_export_writes_one_file_per_nanopublication_ready_for_the_nanopub_tools(tmp_path: Path, seed: Build) -> None:
    result = CliRunner().invoke(app, ["export", "--nanopubs", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "out").glob("*.trig"))
    assert {f.stem for f in files} == {iri.rsplit("/", 1)[1] for iri in seed.iris.values()}
    for f in files:
        assert checked(f.read_text())["trusty_hash"] == f.stem
        assert "curatedAtLine" not in f.read_text(), "the curation record stays behind"


def test_the_publication_info_holds_what_the_network_expects(seed: Build) -> None:
    store = OxigraphStore()
    store.load(seed.quads)
    rows = list(store.query("""
        PREFIX dcterms: <http://purl.org/dc/terms/> PREFIX np: <http://www.nanopub.org/nschema#>
        SELECT ?np ?creator ?created ?license WHERE { ?np np:hasPublicationInfo ?pi .
          GRAPH ?pi { ?np dcterms:creator ?creator ; dcterms:created ?created ; dcterms:license ?license } }"""))
    assert len(rows) == len(seed.claims)
    assert all(r["created"].datatype.value.endswith("#dateTime") for r in rows)
    assert len(nanopublication_quads(seed.quads, seed.ns)) == len(seed.claims)
