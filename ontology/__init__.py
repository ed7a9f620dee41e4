"""The poems-kg OWL ontology (Turtle source of truth) and reasoning over the knowledge graph."""

import gzip
from pathlib import Path

ONTOLOGY_DIR = Path(__file__).resolve().parent
# The ontology's source of truth and its import slices (ontology/imports/*_import.ttl; see ontology/slice.py).
ONTOLOGY_FILES = (ONTOLOGY_DIR / "poems-kg.ttl", *sorted((ONTOLOGY_DIR / "imports").glob("*_import.ttl")))


def ontology_files(kg_dir: Path) -> tuple[Path, ...]:
    """The ontology files, and the import slices a folder of curated data brings (``imports/*_import.ttl.gz``)."""
    return (*ONTOLOGY_FILES, *sorted((kg_dir / "imports").glob("*_import.ttl.gz")))


def read_text(path: Path) -> str:
    """The text of an ontology file, gzipped (``.gz``) or not."""
    return gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text(encoding="utf-8")
