"""poems-kg: curated claims about POEMS syndrome as a nanopublication knowledge graph."""

__version__ = "0.1.0"
