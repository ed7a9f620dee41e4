"""The streaming build (``poems-kg build-store``), and folders of table sources that bring their own import slices."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyoxigraph import CanonicalizationAlgorithm, Dataset, NamedNode, Store

from kg.model import CurationError
from kg.settings import DEFAULT_BASE_IRI, PACKAGE_ROOT
from ontology.reason import reason
from pipeline.build import Build, build
from pipeline.stream import build_stream

WHOLE_FILE = PACKAGE_ROOT / "bench" / "hpoa-all"  # every disease of HPO's file, with its committed slices and mappings
CLI = str(Path(sys.executable).parent / "poems-kg")
PRUNE_BELLY = ("OMIM:100100", "http://purl.obolibrary.org/obo/MONDO_0007032", "http://purl.obolibrary.org/obo/HP_0001562")


def test_the_streaming_build_gives_the_same_store_as_the_build(seed: Build, tmp_path: Path) -> None:
    """Batches on two processes, written as they pass and bulk-loaded: the same quads as the in-memory build and its
    reasoning, so that a store built either way answers the same."""
    result = build_stream(PACKAGE_ROOT / "kg", DEFAULT_BASE_IRI, tmp_path / "store", workers=2)
    expected = Dataset([*seed.quads, *reason(seed.quads, seed.ns, seed.files).inferred])
    built = Dataset(Store(str(tmp_path / "store")))
    for dataset in (expected, built):  # the bulk loader names blank nodes afresh: compare up to their names
        dataset.canonicalize(CanonicalizationAlgorithm.UNSTABLE)
    assert set(built) == set(expected)
    assert (result.claims, result.quads, result.quads + result.inferred) == (len(seed.claims), len(seed.quads), len(expected))
    assert not (tmp_path / "store.partial").exists()


def _with_another_disease(kg_copy: Path, slices: tuple[str, ...]) -> Path:
    """The seed with the rows of one more disease of HPO's file (prune belly syndrome), the whole-file folder's
    mappings and the named ones of its import slices."""
    meta = kg_copy / "sources" / "hpo-phenotype-annotations" / "metadata.yaml"
    text = meta.read_text(encoding="utf-8").replace("  ORPHA: Orphanet", "  ORPHA: Orphanet\n  OMIM: OMIM")
    text = text.replace("    ORPHA: infores:orphanet", "    ORPHA: infores:orphanet\n    OMIM: infores:omim")
    meta.write_text(text.replace("  - ORPHA:2905  # POEMS syndrome", f"  - ORPHA:2905  # POEMS syndrome\n  - {PRUNE_BELLY[0]}"),
                    encoding="utf-8")
    shutil.copy(WHOLE_FILE / "mappings" / "mondo-exact.sssom.tsv.gz", kg_copy / "mappings" / "tables.sssom.tsv.gz")
    (kg_copy / "imports").mkdir()
    for name in slices:
        shutil.copy(WHOLE_FILE / "imports" / f"{name}_import.ttl.gz", kg_copy / "imports")
    return kg_copy


def test_a_folder_brings_the_slices_of_the_terms_its_rows_name(kg_copy: Path, seed: Build) -> None:
    """Terms outside the packaged slice are checked in, and labelled from, the folder's own slices (HPO's release of
    the rows, MONDO's own files); the packaged seed does not change."""
    result = build(_with_another_disease(kg_copy, ("hp", "mondo")), DEFAULT_BASE_IRI)
    disease, phenotype = NamedNode(PRUNE_BELLY[1]), NamedNode(PRUNE_BELLY[2])
    assert any(q.subject == disease and q.object == phenotype for q in result.quads)
    labels = {(q.subject, q.object.value) for q in result.quads if q.predicate.value.endswith("#label")}
    assert (disease, "prune belly syndrome") in labels and (phenotype, "Oligohydramnios") in labels
    assert len(result.claims) > len(seed.claims)


def test_a_term_no_slice_holds_is_refused_with_file_and_line(kg_copy: Path) -> None:
    with pytest.raises(CurationError) as caught:
        build(_with_another_disease(kg_copy, ("mondo",)), DEFAULT_BASE_IRI)
    message = str(caught.value)
    assert "phenotype.hpoa:20930:" in message and "HP:0001562 is not in the import slice" in message


def test_build_store_refuses_bad_rows_and_writes_nothing(kg_copy: Path, tmp_path: Path) -> None:
    """The command line: a refused row names file and line, exit 1, and neither the store nor its work folder exist."""
    _with_another_disease(kg_copy, ("mondo",))
    target = tmp_path / "store"
    done = subprocess.run([CLI, "build-store", "--kg-dir", str(kg_copy), "--store", str(target),
                           "--no-reason"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "phenotype.hpoa:20930:" in done.stderr and "Traceback" not in done.stderr
    assert not target.exists() and not (tmp_path / "store.partial").exists()


def test_build_store_builds_and_will_not_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "store"
    done = subprocess.run([CLI, "build-store", "--store", str(target), "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "87 claims" in done.stderr and len(Store(str(target))) > 5000
    again = subprocess.run([CLI, "build-store", "--store", str(target)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "exists" in again.stderr
