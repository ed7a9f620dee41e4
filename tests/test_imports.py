"""Identifiers grounded in their ontologies' own files: the committed import slice, its reproducibility, and the
build's refusal of an unknown, an obsolete or a mislabelled identifier, with file and line."""

import csv
import dataclasses
import functools
import gzip
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS
from typer.testing import CliRunner

from kg.model import CurationError
from kg.namespaces import Namespaces
from kg.settings import DEFAULT_BASE_IRI
from kg.terms import ONTOLOGY_DIR, index
from ontology.releases import ReleaseError, ReleaseFiles, pinned
from ontology.slice import IMPORTS_DIR, Upstream, names, refresh, term_list
from pipeline.build import Build, build
from pipeline.cli import app
from tests.conftest import KG_DIR, append_claims

CLAIMS = "claims/poems-cause-summary.yaml"
RELEASES = Path(__file__).parent / "fixtures" / "releases"  # small copies of the pinned releases (trim_releases.py)
# The ontology term tables of the development machines (taken from the ontologies' own files): a second reading of the
# same releases to check the slices' labels against, where it exists; a user's machine does not have it.
SHARED_TERMS = Path(__file__).resolve().parents[2] / "shared" / "ontology-terms" / "terms.tsv.gz"


def refused(kg_copy: Path, entry: str, field: str) -> CurationError:
    """Build with one more claim; the error, checked to name the claims file and the line of ``field``."""
    append_claims(kg_copy, entry)
    lines = (kg_copy / CLAIMS).read_text().splitlines()
    line = max(i for i, text in enumerate(lines) if text.startswith(f"    {field}:")) + 1
    with pytest.raises(CurationError) as caught:
        build(kg_copy, DEFAULT_BASE_IRI)
    assert (caught.value.file, caught.value.line) == (kg_copy / CLAIMS, line)
    return caught.value


def claim(obj: str, *extra: str) -> str:
    return ("\n  - key: fixture-identifier\n    subject: MONDO:0017364\n    predicate: biolink:has_mode_of_inheritance\n"
            f"    object: {obj}\n" + "".join(f"    {e}\n" for e in extra)
            + '    quote: "somatic"\n    note: Fixture claim for the identifier checks.\n')


def test_an_identifier_not_in_the_slice_is_refused(kg_copy: Path) -> None:
    error = refused(kg_copy, claim("MONDO:0005015"), "object")
    assert "MONDO:0005015 is not in the import slice" in error.message and "ontology/imports/mondo_terms.txt" in error.message


def test_an_obsolete_identifier_is_refused_with_its_replacement(kg_copy: Path) -> None:
    error = refused(kg_copy, claim("HP:0001428"), "object")
    assert "HP:0001428 is obsolete in its ontology ('obsolete Somatic mutation', ontology/imports/hp_import.ttl)" in error.message
    assert "use HP:0001442 (Typified by somatic mosaicism)" in error.message


def test_a_label_its_ontology_does_not_use_is_refused(kg_copy: Path) -> None:
    error = refused(kg_copy, claim("HP:0001442", 'object_label: "Somatic inheritance"'), "object_label")
    assert "'Somatic inheritance' is not a label of HP:0001442 in its ontology, which names it 'Typified by somatic mosaicism'" \
        in error.message


def test_an_exact_synonym_is_a_label_its_ontology_uses(kg_copy: Path) -> None:
    append_claims(kg_copy, claim("HP:0001442", 'object_label: "Somatic mutation"'))
    assert "fixture-identifier" in {c.key for c in build(kg_copy, DEFAULT_BASE_IRI).claims}


def test_a_mislabelled_mapping_row_is_refused(kg_copy: Path) -> None:
    path = kg_copy / "mappings" / "curated.sssom.tsv"
    lines = path.read_text().splitlines()
    row = next(i for i, text in enumerate(lines) if text.startswith("HGNC:12680\tVEGFA\t"))
    lines[row] = lines[row].replace("HGNC:12680\tVEGFA\t", "HGNC:12680\tVEGF-A\t")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CurationError) as caught:
        build(kg_copy, DEFAULT_BASE_IRI)
    assert (caught.value.file, caught.value.line) == (path, row + 1)
    assert "'VEGF-A' is not a label of HGNC:12680" in caught.value.message


def test_every_identifier_of_the_dataset_is_a_current_term_with_its_ontologys_label(seed: Build) -> None:
    terms = index(DEFAULT_BASE_IRI)
    named = {q.object.value for q in seed.quads if isinstance(q.object, NamedNode)
             and q.predicate.value.rsplit("/", 1)[-1] in ("subject", "predicate", "object", "has_evidence")}
    named -= {i for i in named if i.startswith(seed.ns.source) or i.startswith(seed.ns.claim)}
    assert named and all(i in terms and not terms[i].obsolete for i in named), sorted(i for i in named if i not in terms)
    labels = {q.subject.value: q.object.value for q in seed.quads
              if q.predicate.value == str(RDFS.label) and isinstance(q.object, Literal)}
    assert all(labels[i] == terms[i].label for i in named)


def test_every_minted_term_a_claim_names_says_why_and_links_out() -> None:
    """Each minted class a claim names gives the reason no standard term fits, and maps to a standard term when one
    is near (the etiology statuses have none)."""
    graph = Graph().parse(ONTOLOGY_DIR / "poems-kg.ttl")
    named = set(re.findall(r"poems:[a-z][a-z-]+", (KG_DIR / CLAIMS).read_text()))
    minted = {n for n in named if (URIRef(DEFAULT_BASE_IRI + "id/" + n[6:]), RDF.type, OWL.Class) in graph}
    assert minted == {"poems:cytokine-overproduction", "poems:organ-system-malfunction", "poems:chronic-immune-stimulation",
                      "poems:germline-mutation", "poems:lambda-restricted-plasma-cell-dyscrasia", "poems:idiopathic-etiology",
                      "poems:unknown-trigger"}
    matches = (SKOS.broadMatch, SKOS.narrowMatch, SKOS.closeMatch, SKOS.relatedMatch, SKOS.exactMatch, RDFS.subClassOf)
    for curie in minted:
        term = URIRef(DEFAULT_BASE_IRI + "id/" + curie[6:])
        assert "Minted" in str(graph.value(term, DCTERMS.source)), curie
        links = {str(o) for p in matches for o in graph.objects(term, p)}
        assert links or curie in ("poems:idiopathic-etiology", "poems:unknown-trigger"), curie


def test_refresh_from_the_release_fixtures_regenerates_every_committed_file_byte_for_byte() -> None:
    """Every slice, the Biolink vocabulary and MONDO's exact mappings, from the releases' own files (and the PyPI
    wheels of HPO and Biolink): nothing differs."""
    result = CliRunner().invoke(app, ["refresh-imports", "--mirror", str(RELEASES), "--check"])
    assert result.exit_code == 0, result.output
    assert "11 files, 0 differ" in result.output


def test_a_term_added_to_a_term_list_comes_from_its_release_with_its_ancestors(tmp_path: Path) -> None:
    shutil.copytree(IMPORTS_DIR, tmp_path / "imports")
    with (tmp_path / "imports" / "eco_terms.txt").open("a") as handle:
        handle.write("ECO:0000269  # experimental evidence used in manual assertion\n")
    upstream = Upstream(ReleaseFiles(RELEASES))
    text = refresh(upstream, tmp_path / "imports", only=["eco"])["eco"].decode()
    graph = Graph().parse(data=text, format="turtle")
    term, obo = URIRef("http://purl.obolibrary.org/obo/ECO_0000269"), "http://purl.obolibrary.org/obo/"
    assert str(graph.value(term, RDFS.label)) == "experimental evidence used in manual assertion"
    assert str(graph.value(term, DCTERMS.source)) == pinned()["eco"].source == \
        "github.com/evidenceontology/evidenceontology@28e39bd2df92:eco.obo"
    assert (term, RDFS.subClassOf, URIRef(obo + "ECO_0000006")) in graph  # experimental evidence
    ancestors = set(graph.transitive_objects(term, RDFS.subClassOf))
    assert URIRef(obo + "ECO_0000000") in ancestors  # the root: evidence
    assert all(graph.value(a, RDFS.label) for a in ancestors)
    # the terms already there are unchanged
    committed = Graph().parse(IMPORTS_DIR / "eco_import.ttl")
    assert all(t in graph for t in committed)


def test_a_mirror_without_a_release_or_with_a_changed_file_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in IMPORTS_DIR.glob("*_import.ttl")}
    mirror = tmp_path / "mirror"
    shutil.copytree(RELEASES, mirror)
    (mirror / pinned()["ro"].file).unlink()
    result = CliRunner().invoke(app, ["refresh-imports", "--mirror", str(mirror)])
    assert result.exit_code == 1
    assert f"{mirror / pinned()['ro'].file}: the mirror has no file for the pinned release ro" in " ".join(result.output.split())
    shutil.copytree(RELEASES, mirror, dirs_exist_ok=True)
    ecto = mirror / pinned()["ecto"].file
    ecto.write_bytes(ecto.read_bytes() + b"\n")
    result = CliRunner().invoke(app, ["refresh-imports", "--mirror", str(mirror)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"{ecto}: SHA-256" in said and "the file changed since it was fetched" in said
    assert {p: p.read_bytes() for p in IMPORTS_DIR.glob("*_import.ttl")} == before


@pytest.fixture(scope="module")
def release_server() -> Iterator[str]:
    """The fixture releases served over HTTP by Python's own server: the download path (progress, checksum, cache)
    against a real server."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(RELEASES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_a_release_is_downloaded_once_into_the_cache_and_checked(tmp_path: Path, release_server: str) -> None:
    ro = pinned()["ro"]
    digest = ReleaseFiles._read_sums(RELEASES)[ro.file]  # the fixture is a small copy: its own checksum
    release = dataclasses.replace(ro, url=release_server + ro.file, sha256=digest)
    path = ReleaseFiles(cache=tmp_path).path(release)
    assert path == tmp_path / ro.file and path.read_bytes() == (RELEASES / ro.file).read_bytes()
    path.write_bytes(path.read_bytes().replace(b"involved in", b"involved-in"))  # changed after it was fetched
    with pytest.raises(ReleaseError, match="the file changed since it was fetched; delete it"):
        ReleaseFiles(cache=tmp_path).path(release)
    changed = dataclasses.replace(release, sha256="0" * 64, file="ro/other/ro.obo")  # upstream no longer the pinned file
    with pytest.raises(ReleaseError, match=r"is not the pinned 0{64}: the release changed upstream"):
        ReleaseFiles(cache=tmp_path).path(changed)
    assert not list((tmp_path / "ro" / "other").iterdir())  # nothing half-written


def test_offline_without_a_mirror_says_what_to_do(tmp_path: Path) -> None:
    release = dataclasses.replace(pinned()["eco"], url="http://127.0.0.1:9/eco.obo")  # nothing listens on port 9
    with pytest.raises(ReleaseError) as caught:
        ReleaseFiles(cache=tmp_path).path(release)
    assert "cannot download http://127.0.0.1:9/eco.obo" in str(caught.value)
    assert "when offline, give --mirror DIR: a folder holding eco/28e39bd2df92/eco.obo" in str(caught.value)
    assert not any(tmp_path.rglob("*.obo*"))


@pytest.mark.skipif(not SHARED_TERMS.exists(), reason=f"the shared ontology term tables are not at {SHARED_TERMS}")
def test_every_sliced_label_is_the_label_the_shared_term_tables_give() -> None:
    """Runs where the shared tables are (the development machines): a second reading of the same upstream files."""
    with gzip.open(SHARED_TERMS, "rt", encoding="utf-8") as handle:
        labels = {r["curie"]: r["label"] for r in csv.DictReader(handle, delimiter="\t")}
    ns = Namespaces(DEFAULT_BASE_IRI)
    compared = 0
    for name in names():
        for term, label in Graph().parse(IMPORTS_DIR / f"{name}_import.ttl").subject_objects(RDFS.label):
            curie = ns.compact(str(term))
            if curie in labels and not curie.startswith("biolink:"):
                assert labels[curie] == str(label), curie
                compared += 1
    assert compared > 250


def test_every_slice_has_a_term_list_and_every_listed_term_is_in_its_slice() -> None:
    assert set(names()) == {p.name.removesuffix("_import.ttl") for p in IMPORTS_DIR.glob("*_import.ttl")} - {"manual"}
    terms = index(DEFAULT_BASE_IRI)
    ns = Namespaces(DEFAULT_BASE_IRI)
    for name in names():
        assert all(ns.expand(c) in terms for c in term_list(name)), name
