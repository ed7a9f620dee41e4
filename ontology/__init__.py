"""The poems-kg OWL ontology (Turtle source of truth) and reasoning over the knowledge graph."""

from pathlib import Path

ONTOLOGY_DIR = Path(__file__).resolve().parent
ONTOLOGY_FILES = (ONTOLOGY_DIR / "poems-kg.ttl", ONTOLOGY_DIR / "imports" / "external.ttl")
