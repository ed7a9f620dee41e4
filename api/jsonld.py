"""JSON-LD with the poems-kg context: short keys for the terms a claim uses.

Every JSON-LD answer carries its context inline, so that any JSON-LD processor reads it with no other request (a
context named by IRI would have to be fetched from ``<base>context.jsonld``, which a private deployment or an
offline copy cannot reach). The same context is also served at ``/context.jsonld`` for those who want to reuse it.
"""

import json
from typing import Any

from pyld import jsonld

from kg.namespaces import Namespaces


def context(ns: Namespaces) -> dict[str, Any]:
    """The ``@context`` of every JSON-LD answer, also served at ``<base>context.jsonld``."""
    iri = {"@type": "@id"}
    return {"@context": {
        "@version": 1.1,
        "biolink": "https://w3id.org/biolink/vocab/", "np": "http://www.nanopub.org/nschema#",
        "oa": "http://www.w3.org/ns/oa#", "prov": "http://www.w3.org/ns/prov#", "dcterms": "http://purl.org/dc/terms/",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "skos": "http://www.w3.org/2004/02/skos/core#",
        "owl": "http://www.w3.org/2002/07/owl#", "xsd": "http://www.w3.org/2001/XMLSchema#",
        "pav": "http://purl.org/pav/", "spdx": "http://spdx.org/rdf/terms#",
        **{name: {"@id": iri, "@prefix": True} for name, iri in (   # usable as CURIE prefixes (MONDO:0017364)
            ("MONDO", "http://purl.obolibrary.org/obo/MONDO_"), ("HP", "http://purl.obolibrary.org/obo/HP_"),
            ("GO", "http://purl.obolibrary.org/obo/GO_"), ("CL", "http://purl.obolibrary.org/obo/CL_"),
            ("ECO", "http://purl.obolibrary.org/obo/ECO_"), ("RO", "http://purl.obolibrary.org/obo/RO_"),
            ("SEPIO", "http://purl.obolibrary.org/obo/SEPIO_"))},
        "HGNC": "http://identifiers.org/hgnc/",
        "poems": ns.entity, "claim": ns.claim, "source": ns.source,
        "id": "@id", "type": "@type", "graph": "@graph",
        "label": "rdfs:label", "comment": "rdfs:comment", "title": "dcterms:title",
        "subject": {"@id": "biolink:subject", **iri}, "predicate": {"@id": "biolink:predicate", **iri},
        "object": {"@id": "biolink:object", **iri}, "negated": {"@id": "biolink:negated", "@type": "xsd:boolean"},
        "direction": {"@id": "poems:direction", **iri}, "certainty": {"@id": "poems:certainty", **iri},
        "knowledgeLevel": {"@id": "biolink:knowledge_level", **iri},
        "agentType": {"@id": "biolink:agent_type", **iri}, "frequency": "biolink:frequency_qualifier",
        "evidence": {"@id": "biolink:has_evidence", **iri},
        "assertion": {"@id": "np:hasAssertion", **iri}, "provenance": {"@id": "np:hasProvenance", **iri},
        "publicationInfo": {"@id": "np:hasPublicationInfo", **iri},
        "derivedFrom": {"@id": "prov:wasDerivedFrom", **iri}, "hasSource": {"@id": "oa:hasSource", **iri},
        "selector": {"@id": "oa:hasSelector", **iri}, "exact": "oa:exact", "prefix": "oa:prefix", "suffix": "oa:suffix",
        "start": {"@id": "oa:start", "@type": "xsd:integer"}, "end": {"@id": "oa:end", "@type": "xsd:integer"},
        "creator": {"@id": "dcterms:creator", **iri}, "created": {"@id": "dcterms:created", "@type": "xsd:date"},
        "license": {"@id": "dcterms:license", **iri},
    }}


def compact(expanded: bytes, ns: Namespaces) -> bytes:
    """Compact JSON-LD (as pyoxigraph writes it) with the poems-kg context, inline."""
    document = jsonld.compact(json.loads(expanded or b"[]"), context(ns))
    return json.dumps(document, ensure_ascii=False, indent=1).encode()
