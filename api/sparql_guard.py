"""Checks applied to SPARQL text before it reaches the store."""

import re

# Comments, IRIs and string literals, which may contain any word without meaning it.
_NOISE = re.compile("|".join((
    r"#[^\n]*",                                   # comment
    r"<[^<>\"{}|^`\\\s]*>",                        # IRI
    r'"""(?:[^"\\]|\\.|"(?!""))*"""',               # long string, double quotes
    r"'''(?:[^'\\]|\\.|'(?!''))*'''",     # long string, single quotes
    r'"(?:[^"\\\n]|\\.)*"',                       # string, double quotes
    r"'(?:[^'\\\n]|\\.)*'",                     # string, single quotes
)))
_SERVICE = re.compile(r"\bSERVICE\b", re.IGNORECASE)
_LOAD = re.compile(r"\bLOAD\b", re.IGNORECASE)


def _mentions(keyword: re.Pattern[str], sparql: str) -> bool:
    """Whether ``keyword`` occurs as a word of the SPARQL text itself (not in a comment, IRI or string)."""
    return bool(keyword.search(_NOISE.sub(" ", sparql)))


def uses_service(query: str) -> bool:
    """Whether a query contains a ``SERVICE`` clause (federation to another endpoint).

    >>> uses_service("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
    True
    >>> uses_service('SELECT * WHERE { ?s ?p "SERVICE" } # SERVICE in a comment')
    False
    """
    return _mentions(_SERVICE, query)


def uses_load(update: str) -> bool:
    """Whether a SPARQL update contains ``LOAD`` (which makes the server fetch a URL).

    >>> uses_load("LOAD <http://example.org/data.ttl> INTO GRAPH <http://example.org/g>")
    True
    >>> uses_load('INSERT DATA { <http://example.org/s> <http://example.org/p> "LOAD" }')
    False
    """
    return _mentions(_LOAD, update)
