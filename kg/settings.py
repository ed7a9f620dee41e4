"""Settings of poems-kg, read from the environment (prefix ``POEMS_KG_``) or a ``.env`` file."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kg.namespaces import DEFAULT_BASE_IRI

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def curated_folder() -> Path:
    """The folder of curated data read by default.

    ``./kg`` when it has ``claims/`` and ``sources/`` (a curator's own folder, or a checkout); else the packaged seed.
    """
    here = Path.cwd() / "kg"
    return here if (here / "claims").is_dir() and (here / "sources").is_dir() else PACKAGE_ROOT / "kg"


class Settings(BaseSettings):
    """All configuration in one place; every field can be set as ``POEMS_KG_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="POEMS_KG_", env_file=".env", extra="ignore")

    base_iri: str = DEFAULT_BASE_IRI
    kg_dir: Path = Field(default_factory=curated_folder)  # sources/, claims/, mappings/
    store_path: Path | None = None  # on-disk Oxigraph folder; None keeps the store in memory
    sparql_endpoint: str | None = None  # a SPARQL 1.1 server's query URL: use it instead of the embedded store
    sparql_update_endpoint: str | None = None  # its update URL, when not the same
    sparql_graph_store_endpoint: str | None = None  # its Graph Store Protocol URL, for fast bulk imports
    sparql_dialect: Literal["standard", "virtuoso"] = "standard"  # what the server needs beyond the standard
    sparql_user: str | None = None  # HTTP basic credentials for the server, if it needs them
    sparql_password: str | None = None
    query_timeout_s: float = 10.0  # a query running longer is stopped (its worker process is killed)
    query_workers: int = 2  # worker processes answering SPARQL queries in parallel (in each serving process)
    # Processes answering HTTP on one socket (api/processes.py): one writes, the others answer reads from its checkpoints.
    serve_processes: Annotated[int, Field(ge=1, le=64)] = 1
    # The most memory a query may use, code included (kg/limits.py): each worker process (and the process of an admin
    # update, of `poems-kg query`, of the writes' validator) is capped at it by the operating system; a query that needs
    # more answers 503.
    query_memory_bytes: Annotated[int, Field(ge=256 << 20)] = 1 << 30
    # Each serving process's allowance: the store when in memory, kept answers, the fixed queries of pages and JSON. The
    # service's total, serve_processes * (main_memory_bytes + query_workers * query_memory_bytes) + 2 * query_memory_bytes
    # (an admin update, the writes' validator), must fit the machine, or serve refuses.
    main_memory_bytes: Annotated[int, Field(ge=64 << 20)] = 1 << 30
    # The memory allocator of the processes that evaluate SPARQL (query workers, admin updates, `poems-kg query`):
    # "jemalloc" where the machine has it (Debian package libjemalloc2; else the C library's, kg/isolated.py), "system".
    query_allocator: Literal["jemalloc", "system"] = "jemalloc"
    max_result_bytes: int = 50_000_000
    max_query_bytes: int = 100_000
    max_query_depth: int = 200  # brackets ({, (, [) nested deeper in a query or update are refused with 400
    max_body_bytes: int = 1_000_000  # a larger request body is refused with 413 before it is read
    max_xml_expansion_bytes: int = 10_000_000  # how much RDF/XML entities may grow a document (uploads and imports)
    max_literal_chars: int = 1_000_000  # a longer literal in an upload, import or restore is refused
    max_source_bytes: int = 5_000_000  # a longer source text (text.txt) is refused by build, validate and draft
    max_request_quads: int = 100_000  # triples in one Graph Store request; larger files go through `poems-kg import`
    # Write access: entries "name:scope:sha256-of-token" (scope read, write or admin); only hashes are ever stored.
    # `poems-kg token NAME --scope write` makes a token and its entry. No entries: every write is refused.
    tokens: list[str] = []
    tokens_file: Path | None = None  # the same entries, one per line ('#' starts a comment)
    reason_on_start: bool = True  # serve the inferred graph (needs Java for HermiT)
    # Signing: with both set, every nanopublication a build or a write makes is signed (`poems-kg keygen` makes a key).
    sign_key_file: Path | None = None  # RSA private key (PEM); read when signing, never served, logged or stored
    signer: str | None = None  # who signs: an ORCID (https://orcid.org/...) or an agent IRI
    page_size: Annotated[int, Field(ge=1)] = 200  # claims per page of a source or entity document (its own triples on page 1)
    answer_cache_entries: int = 4096  # answers kept per data version (GET of pages, JSON, FHIR, dumps); 0: none
    answer_cache_bytes: int = 64_000_000  # and their total size in bytes
    # What each claim contributes to lists of claims (its details, its RDF description), kept between answers so that
    # a write re-lists a hub from them (api.cache.claim_parts): their total size in bytes; 0: none
    claim_parts_bytes: int = 64_000_000
    # An entity or source with at least this many claims has its lists computed in the background when a serving
    # process starts (api.warm), the largest first, until the kept parts fill half of claim_parts_bytes; 0: none.
    warm_claims: Annotated[int, Field(ge=0)] = 250
    answer_renew_ms: Annotated[int, Field(ge=0)] = 250  # a write computes again the kept answers it changed for so long
    cors_origins: list[str] = ["*"]
    access_log: bool = False  # one log line per request; off, kept answers are served 2.5 times as fast (README)
    host: str = "127.0.0.1"
    port: int = 8000


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached)."""
    return Settings()
