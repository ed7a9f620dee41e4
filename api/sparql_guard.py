"""Checks applied to SPARQL text before it reaches the store."""

import re

from kg.sparql_text import mentions

_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)
_LOAD = re.compile(r"\bLOAD\b", re.IGNORECASE)


def uses_service(query: str) -> bool:
    """Whether a query contains a ``SERVICE`` clause (federation to another endpoint).

    >>> uses_service("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
    True
    >>> uses_service('SELECT * WHERE { ?s ?p "SERVICE" } # SERVICE in a comment')
    False
    """
    return mentions(_SERVICE, query)


def uses_load(update: str) -> bool:
    """Whether a SPARQL update contains ``LOAD`` (which makes the server fetch a URL).

    >>> uses_load("LOAD <http://example.org/data.ttl> INTO GRAPH <http://example.org/g>")
    True
    >>> uses_load('INSERT DATA { <http://example.org/s> <http://example.org/p> "LOAD" }')
    False
    """
    return mentions(_LOAD, update)
