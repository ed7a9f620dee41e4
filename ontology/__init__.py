"""The poems-kg OWL ontology (Turtle source of truth) and reasoning over the knowledge graph."""

from pathlib import Path

ONTOLOGY_DIR = Path(__file__).resolve().parent
# The ontology's source of truth and its import slices (ontology/imports/*_import.ttl; see ontology/slice.py).
ONTOLOGY_FILES = (ONTOLOGY_DIR / "poems-kg.ttl", *sorted((ONTOLOGY_DIR / "imports").glob("*_import.ttl")))
