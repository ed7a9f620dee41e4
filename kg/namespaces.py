"""Prefixes and IRIs: the one place where CURIEs are expanded and minted IRIs are built."""

import re
from dataclasses import dataclass
from functools import cached_property

# External namespaces the claims may use, with the shape a local identifier must have.
EXTERNAL_PREFIXES: dict[str, tuple[str, str]] = {
    "MONDO": ("http://purl.obolibrary.org/obo/MONDO_", r"\d{7}"),
    "HP": ("http://purl.obolibrary.org/obo/HP_", r"\d{7}"),
    "GO": ("http://purl.obolibrary.org/obo/GO_", r"\d{7}"),
    "CL": ("http://purl.obolibrary.org/obo/CL_", r"\d{7}"),
    "ECO": ("http://purl.obolibrary.org/obo/ECO_", r"\d{7}"),
    "RO": ("http://purl.obolibrary.org/obo/RO_", r"\d{7}"),
    "SEPIO": ("http://purl.obolibrary.org/obo/SEPIO_", r"\d{7}"),
    "ECTO": ("http://purl.obolibrary.org/obo/ECTO_", r"\d{7}"),
    "DOID": ("http://purl.obolibrary.org/obo/DOID_", r"\d+"),
    "EFO": ("http://www.ebi.ac.uk/efo/EFO_", r"\d{7}"),
    "MEDGEN": ("http://identifiers.org/medgen/", r"\d+"),
    "HGNC": ("http://identifiers.org/hgnc/", r"\d+"),
    "Orphanet": ("http://www.orpha.net/ORDO/Orphanet_", r"\d+"),
    "OMIM": ("https://omim.org/entry/", r"\d+"),
    "PMID": ("http://identifiers.org/pubmed/", r"\d+"),
    "MESH": ("http://id.nlm.nih.gov/mesh/", r"[CD]\d{6,9}"),
    "UMLS": ("http://linkedlifedata.com/resource/umls/id/", r"C\d{7}"),
    "NCIT": ("http://purl.obolibrary.org/obo/NCIT_", r"C\d+"),
    "SCTID": ("http://snomed.info/id/", r"\d{6,18}"),
    "ICD10CM": ("http://purl.bioontology.org/ontology/ICD10CM/", r"[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?"),
    "ICD11": ("http://id.who.int/icd/entity/", r"\d+"),
    "NCBIGene": ("http://identifiers.org/ncbigene/", r"\d+"),
    "UniProtKB": ("http://purl.uniprot.org/uniprot/", r"[A-Z0-9]{6,10}"),
    "skos": ("http://www.w3.org/2004/02/skos/core#", r"[A-Za-z]+"),
    "semapv": ("https://w3id.org/semapv/vocab/", r"[A-Za-z]+"),
    "biolink": ("https://w3id.org/biolink/vocab/", r"[a-z][a-z0-9_]*|[A-Z][A-Za-z0-9]*"),
    "infores": ("https://w3id.org/biolink/infores/", r"[a-z0-9][a-z0-9_.-]*"),  # Biolink's information resources
    "dcterms": ("http://purl.org/dc/terms/", r"[A-Za-z]+"),
}

# How clinical systems name each code system: prefix -> (FHIR ``Coding.system`` URI, display name, whether the FHIR
# code is the whole CURIE, as for the OBO ontologies and HGNC, or only its local part). SNOMED CT and ICD-10-CM are
# the URIs FHIR R5 defines; the others are the namespaces each publisher documents for its identifiers.
FHIR_SYSTEMS: dict[str, tuple[str, str, bool]] = {
    "MONDO": ("http://purl.obolibrary.org/obo/mondo.owl", "MONDO", True),
    "HP": ("http://purl.obolibrary.org/obo/hp.owl", "Human Phenotype Ontology", True),
    "GO": ("http://purl.obolibrary.org/obo/go.owl", "Gene Ontology", True),
    "CL": ("http://purl.obolibrary.org/obo/cl.owl", "Cell Ontology", True),
    "ECTO": ("http://purl.obolibrary.org/obo/ecto.owl", "Environmental Conditions, Treatments and Exposures Ontology", True),
    "DOID": ("http://purl.obolibrary.org/obo/doid.owl", "Human Disease Ontology", True),
    "EFO": ("http://www.ebi.ac.uk/efo/efo.owl", "Experimental Factor Ontology", True),
    "MEDGEN": ("http://www.ncbi.nlm.nih.gov/medgen", "MedGen", False),
    "Orphanet": ("http://www.orpha.net", "Orphanet", False),
    "MESH": ("http://id.nlm.nih.gov/mesh", "MeSH", False),
    "UMLS": ("http://www.nlm.nih.gov/research/umls", "UMLS", False),
    "NCIT": ("http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl", "NCI Thesaurus", False),
    "SCTID": ("http://snomed.info/sct", "SNOMED CT", False),
    "ICD10CM": ("http://hl7.org/fhir/sid/icd-10-cm", "ICD-10-CM", False),
    "ICD11": ("http://id.who.int/icd/entity", "ICD-11 Foundation", False),
    "HGNC": ("http://www.genenames.org", "HGNC", True),
    "NCBIGene": ("http://www.ncbi.nlm.nih.gov/gene", "NCBI Gene", False),
    "UniProtKB": ("http://www.uniprot.org", "UniProtKB", False),
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
DCAT = "http://www.w3.org/ns/dcat#"
VOID = "http://rdfs.org/ns/void#"
HYDRA = "http://www.w3.org/ns/hydra/core#"
SEPIO = "http://purl.obolibrary.org/obo/SEPIO_"

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
    def imports(self) -> str:
        """Namespace of the graphs that hold imported ontologies (``poems-kg import``): queryable, never re-published."""
        return self.graph + "import/"

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

    def coding(self, curie: str) -> tuple[str, str]:
        """The FHIR ``(system, code)`` of a CURIE.

        The project's own terms belong to its ontology's code system; a vocabulary with no code system of its own
        (Biolink, SEPIO) is named by its namespace.

        >>> Namespaces("https://w3id.org/poems-kg/").coding("SCTID:79268002")
        ('http://snomed.info/sct', '79268002')
        >>> Namespaces("https://w3id.org/poems-kg/").coding("biolink:causes")
        ('https://w3id.org/biolink/vocab/', 'causes')
        """
        prefix, _, local = curie.partition(":")
        if prefix == "poems":
            return self.ontology, local
        if prefix not in FHIR_SYSTEMS:
            return self.prefixes()[prefix], local
        system, _, whole = FHIR_SYSTEMS[prefix]
        return system, curie if whole else local

    def from_coding(self, system: str, code: str) -> str:
        """The CURIE of a FHIR ``(system, code)``; ``CurieError`` when the system or the code is not one poems-kg knows.

        >>> Namespaces("https://w3id.org/poems-kg/").from_coding("http://hl7.org/fhir/sid/icd-10-cm", "D47.2")
        'ICD10CM:D47.2'
        """
        if system == self.ontology:
            curie = f"poems:{code}"
        else:
            prefix = next((p for p, (uri, _, _) in FHIR_SYSTEMS.items() if uri == system), None)
            if prefix is None:
                raise CurieError(f"unknown code system '{system}' (known: {', '.join(sorted(self.code_systems()))})")
            curie = code if FHIR_SYSTEMS[prefix][2] else f"{prefix}:{code}"
            if not curie.startswith(prefix + ":"):
                raise CurieError(f"code '{code}' is not a {FHIR_SYSTEMS[prefix][1]} code (expected {prefix}:...)")
        self.expand(curie)
        return curie

    def code_systems(self) -> dict[str, str]:
        """Every code system URI poems-kg resolves, with its display name."""
        return {uri: name for uri, name, _ in FHIR_SYSTEMS.values()} | {self.ontology: "poems-kg"}

    @cached_property
    def _longest_first(self) -> list[tuple[str, str]]:
        """The prefixes with their namespaces, longest namespace first (the most specific prefix wins)."""
        return sorted(self.prefixes().items(), key=lambda kv: -len(kv[1]))

    def compact(self, iri: str) -> str:
        """The CURIE of an IRI when a prefix covers it, else the IRI itself."""
        for prefix, namespace in self._longest_first:
            if iri.startswith(namespace):
                return f"{prefix}:{iri[len(namespace):]}"
        return iri
