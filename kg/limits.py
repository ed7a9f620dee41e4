"""Memory bounds: each process that runs a client's query is capped by the operating system; the service's total is checked.

A query worker (and the one-off process of an admin update or of ``poems-kg query``) calls :func:`limit_own_memory`
first. ``RLIMIT_DATA`` caps every private writable mapping of the process (the heap, Oxigraph's and RocksDB's native
allocations, thread stacks), so a query that needs more fails to allocate: Python raises ``MemoryError``, native code
aborts the process (``SIGABRT``). Either way the query is answered with :func:`memory_exceeded`. The code the process
has already mapped is subtracted from the cap, so that its whole resident memory stays within the limit.
"""

import os
import resource
import signal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported at run time: a query process starts faster without pydantic
    from kg.settings import Settings

MIB = 1 << 20
MEMORY_SETTING = "POEMS_KG_QUERY_MEMORY_BYTES"
MARGIN_BYTES = 16 * MIB  # left for code and libraries paged in after the cap is set
ABORTED = -signal.SIGABRT  # the return code of a process whose native code failed to allocate


class MemoryBudgetError(ValueError):
    """Memory settings that cannot be kept: the message names the settings and the figures."""


def mib(nbytes: int) -> str:
    """``nbytes`` in MiB, as the messages give it."""
    return f"{nbytes / MIB:,.0f} MiB"


def _status(field: str) -> int:
    """A field of ``/proc/self/status`` in bytes (``VmRSS``, ``RssFile``, ...)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def resident_bytes() -> int:
    """The resident memory of the calling process, now."""
    return _status("VmRSS")


def limit_own_memory(limit: int) -> None:
    """Cap this process at ``limit`` bytes of memory, its resident code included, and write no core file on a failure."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    data = limit - _status("RssFile") - _status("RssShmem") - MARGIN_BYTES
    if data <= _status("VmData"):
        raise MemoryBudgetError(f"the memory limit of {mib(limit)} ({MEMORY_SETTING}) is less than a query process "
                                f"needs to start ({mib(_status('VmData') + limit - data)})")
    resource.setrlimit(resource.RLIMIT_DATA, (data, data))


def memory_exceeded(limit: int) -> str:
    """What a query stopped at the memory limit is answered with (503)."""
    return (f"query stopped: it needed more than the memory limit of {mib(limit)} a query may use (setting "
            f"{MEMORY_SETTING}); narrow it or add a LIMIT")


# What trying an admin update on a copy of the whole store costs a quad: measured 1.9 KB in its process (two Oxigraph
# copies and the N-Quads), and about 1.3 KB more in the main process.
COPY_BYTES_PER_QUAD = 2_000


def copy_too_large(quads: int, limit: int) -> str | None:
    """Why an update that must be tried on a copy of all ``quads`` is refused (413), or None when the copy fits."""
    if quads * COPY_BYTES_PER_QUAD <= limit:
        return None
    return (f"this update is not of data only (INSERT DATA / DELETE DATA into named graphs), so it is tried on a copy of "
            f"the whole store: {quads:,} quads, about {mib(quads * COPY_BYTES_PER_QUAD)}, more than the memory limit of "
            f"{mib(limit)} a query may use (setting {MEMORY_SETTING}); change named graphs with INSERT DATA / DELETE "
            "DATA or the Graph Store protocol; nothing was written")


def result_too_large(max_bytes: int) -> str:
    """What a query whose result is larger than the result-size limit is answered with (413)."""
    return f"the result is larger than {max_bytes} bytes (setting POEMS_KG_MAX_RESULT_BYTES); add a LIMIT"


def time_exceeded(limit_s: float) -> str:
    """What a query stopped at the time limit is answered with (503)."""
    return f"query stopped: it exceeded the time limit of {limit_s:g} s (setting POEMS_KG_QUERY_TIMEOUT_S); narrow it or add a LIMIT"


def machine_memory() -> int:
    """The memory the machine gives this process: its cgroup's limit where one is set, else the physical memory."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        group = Path("/proc/self/cgroup").read_text().splitlines()[0].partition("::")[2]
        limit = Path("/sys/fs/cgroup", group.lstrip("/"), "memory.max").read_text().strip()
    except (OSError, IndexError):
        return physical
    return min(physical, int(limit)) if limit.isdigit() else physical


def query_processes(settings: "Settings") -> int:
    """How many processes are capped at the query limit.

    Each serving process's query workers, one admin update, and the process that runs the shapes of writes
    (``shapes.validator``).
    """
    return (0 if settings.sparql_endpoint else settings.query_workers) * settings.serve_processes + 2


def service_total(settings: "Settings", machine: int) -> int:
    """The most memory the service may use: each serving process's allowance and each query process's limit.

    Refused with :class:`MemoryBudgetError`: a total over ``machine`` bytes (see :func:`machine_memory`).
    """
    total = settings.serve_processes * settings.main_memory_bytes + query_processes(settings) * settings.query_memory_bytes
    if total > machine:
        raise MemoryBudgetError(
            f"the memory settings add up to {mib(total)}, more than this machine has ({mib(machine)}): "
            f"{mib(settings.main_memory_bytes)} for each of {settings.serve_processes} serving processes "
            f"(POEMS_KG_MAIN_MEMORY_BYTES, POEMS_KG_SERVE_PROCESSES) and {mib(settings.query_memory_bytes)} "
            f"({MEMORY_SETTING}) for each of {query_processes(settings)} query processes (POEMS_KG_QUERY_WORKERS "
            "workers of each serving process on the embedded store, one admin update, the writes' validator); lower one of "
            "them")
    return total


def check_main_process(settings: "Settings", resident: int) -> None:
    """Refuse a main process whose ``resident`` memory after loading the store, with its kept answers, exceeds its allowance."""
    if resident + settings.answer_cache_bytes + settings.claim_parts_bytes > settings.main_memory_bytes:
        raise MemoryBudgetError(
            f"the main process holds {mib(resident)} after loading the store, and may keep "
            f"{mib(settings.answer_cache_bytes)} of answers (POEMS_KG_ANSWER_CACHE_BYTES) and "
            f"{mib(settings.claim_parts_bytes)} of claims' parts (POEMS_KG_CLAIM_PARTS_BYTES): more than its allowance of "
            f"{mib(settings.main_memory_bytes)} (POEMS_KG_MAIN_MEMORY_BYTES); raise the allowance, or keep the store on "
            "disk (POEMS_KG_STORE_PATH)")
