"""Prefixes and IRIs: the one place where CURIEs are expanded and minted IRIs are built."""

import re
from dataclasses import dataclass

# External namespaces the claims may use, with the shape a local identifier must have.
EXTERNAL_PREFIXES: dict[str, tuple[str, str]] = {
    "MONDO": ("http://purl.obolibrary.org/obo/MONDO_", r"\d{7}"),
    "HP": ("http://purl.obolibrary.org/obo/HP_", r"\d{7}"),
    "GO": ("http://purl.obolibrary.org/obo/GO_", r"\d{7}"),
    "CL": ("http://purl.obolibrary.org/obo/CL_", r"\d{7}"),
    "ECO": ("http://purl.obolibrary.org/obo/ECO_", r"\d{7}"),
    "RO": ("http://purl.obolibrary.org/obo/RO_", r"\d{7}"),
    "HGNC": ("http://identifiers.org/hgnc/", r"\d+"),
    "biolink": ("https://w3id.org/biolink/vocab/", r"[a-z][a-z0-9_]*|[A-Z][A-Za-z0-9]*"),
    "dcterms": ("http://purl.org/dc/terms/", r"[A-Za-z]+"),
}

# Namespaces used by the compiler itself (never in curated CURIEs).
NP = "http://www.nanopub.org/nschema#"
NPX = "http://purl.org/nanopub/x/"
PROV = "http://www.w3.org/ns/prov#"
OA = "http://www.w3.org/ns/oa#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCTERMS = "http://purl.org/dc/terms/"
BIOLINK = "https://w3id.org/biolink/vocab/"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PAV = "http://purl.org/pav/"
SPDX = "http://spdx.org/rdf/terms#"

LOCAL_NAME = r"[A-Za-z][A-Za-z0-9_.-]*"
CURIE_RE = re.compile(r"^(?P<prefix>[A-Za-z][A-Za-z0-9_]*):(?P<local>\S+)$")


class CurieError(ValueError):
    """A CURIE that is malformed, has an unknown prefix, or a local part of the wrong shape."""

DEFAULT_BASE_IRI = "https://w3id.org/poems-kg/"


@dataclass(frozen=True)
class Namespaces:
    """The IRIs of one deployment, derived from its base IRI."""

    base: str

    @property
    def entity(self) -> str:
        """Namespace of the project's own entities and vocabulary (``poems:``)."""
        return self.base + "id/"

    @property
    def claim(self) -> str:
        """Namespace of nanopublications (claims)."""
        return self.base + "np/"

    @property
    def source(self) -> str:
        """Namespace of source documents."""
        return self.base + "source/"

    @property
    def graph(self) -> str:
        """Namespace of dataset-level named graphs (ontology, sources, inferred)."""
        return self.base + "graph/"

    @property
    def ontology(self) -> str:
        """IRI of the project's ontology."""
        return self.base + "ontology"

    def rebase(self, text: str) -> str:
        """Rewrite the default base IRI in a Turtle or SPARQL text (ontology, shapes) to this one."""
        return text if self.base == DEFAULT_BASE_IRI else text.replace(DEFAULT_BASE_IRI, self.base)

    def prefixes(self) -> dict[str, str]:
        """Every prefix a curated file may use, mapped to its namespace IRI."""
        out = {name: ns for name, (ns, _) in EXTERNAL_PREFIXES.items()}
        out["poems"] = self.entity
        out["source"] = self.source
        return out

    def expand(self, curie: str) -> str:
        """Expand a CURIE to an IRI, checking prefix and local-part shape.

        >>> Namespaces("https://w3id.org/poems-kg/").expand("MONDO:0017364")
        'http://purl.obolibrary.org/obo/MONDO_0017364'
        """
        match = CURIE_RE.match(curie)
        if not match:
            raise CurieError(f"'{curie}' is not a CURIE (expected PREFIX:local, e.g. MONDO:0017364)")
        prefix, local = match["prefix"], match["local"]
        if prefix in EXTERNAL_PREFIXES:
            namespace, pattern = EXTERNAL_PREFIXES[prefix]
        elif prefix in ("poems", "source"):
            namespace, pattern = self.prefixes()[prefix], LOCAL_NAME
        else:
            known = ", ".join(sorted(self.prefixes()))
            raise CurieError(f"unknown prefix '{prefix}' in '{curie}' (known prefixes: {known})")
        if not re.fullmatch(pattern, local):
            raise CurieError(f"'{curie}': local part '{local}' does not match {prefix} identifiers ({pattern})")
        return namespace + local

    def compact(self, iri: str) -> str:
        """The CURIE of an IRI when a prefix covers it, else the IRI itself."""
        for prefix, namespace in sorted(self.prefixes().items(), key=lambda kv: -len(kv[1])):
            if iri.startswith(namespace):
                return f"{prefix}:{iri[len(namespace):]}"
        return iri
