"""Checks applied to SPARQL text before it reaches the store."""

import re

from pyoxigraph import Quad, RdfFormat, parse
from pyparsing import ParseException
from rdflib import Dataset, URIRef
from rdflib.plugins.sparql.processor import prepareUpdate

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


def data_quads(update: str) -> list[Quad] | None:
    """The quads an update of data only inserts or deletes, or None.

    Data only: ``INSERT DATA`` and ``DELETE DATA`` into named graphs (``GRAPH``). Any other update (its effect
    depends on what the store holds), or one that rdflib's parser cannot read, gives None. Each term as written (a
    store compares ``"01"^^xsd:integer`` with its own ``1`` as its engine does).

    >>> [str(q) for q in data_quads("INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/s> <http://example.org/p> 1 } }")]
    ['<http://example.org/s> <http://example.org/p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> <http://example.org/g>']
    >>> data_quads("DELETE WHERE { GRAPH ?g { ?s ?p ?o } }") is None
    True
    """
    try:
        operations = prepareUpdate(update).algebra
    except (ParseException, ValueError, TypeError, AttributeError):  # the store's own parser says what is wrong
        return None
    named = Dataset()
    for op in operations:
        if op.name not in ("InsertData", "DeleteData") or op.triples or not all(isinstance(g, URIRef) for g in op.quads or {}):
            return None
        for graph, triples in (op.quads or {}).items():
            named.addN((*triple, named.graph(graph)) for triple in triples)
    return list(parse(named.serialize(format="nquads", encoding="utf-8"), format=RdfFormat.N_QUADS))
