"""The poems-kg OWL ontology (Turtle source of truth) and reasoning over the knowledge graph."""
