"""What the writing process tells the processes that follow it: the data version, its checkpoint, what changed.

Several processes serve one store (``api.processes``). Only one of them, the writer, opens the store: pyoxigraph
states that a store opened read-only beside a process that writes it is undefined behaviour. What the engine does
guarantee is ``Store.backup``: a consistent checkpoint in a new folder, made of hard links, that nobody writes
afterwards, and that any number of processes may then open read-only. So after every write the writer publishes a
checkpoint here, before the write is acknowledged:

- ``v<N>/``: the checkpoint of data version N; ``v<N>.json``: when it was written and what it touched (the IRIs, or
  ``null``: anything), so that a follower drops only the answers that read them;
- ``version``: shared by memory map: the newest published version; the version each follower has switched to; and the
  newest version the writer acknowledged before every follower had (it waits a bounded time for them).

Each follower is told of a new version by a datagram on its own Unix socket (and reads the version every 100 ms
besides) and switches to it at once: it opens the checkpoint, computes the kept answers the write changed again while the old ones are still
served, then records that it switched. The writer acknowledges the write once every follower has, so a reader never
waits for a switch; only if the writer stops waiting for a slow follower does that follower switch before it answers.
A write is seen by every process once it is acknowledged.

A follower opens its own hard-linked copy of a checkpoint (``checkout``), so the writer may delete every checkpoint
but the newest at once; a copy cut short by that deletion is made again from the newer one.
"""

import asyncio
import contextlib
import datetime as dt
import json
import mmap
import shutil
import socket
import struct
import threading
from pathlib import Path

from kg.store import OxigraphStore, linked_copy

KEPT_LOGS = 256  # what the last writes touched, for followers that are a few versions behind
MAX_FOLLOWERS = 63  # slots of the shared counters: 0 the version, 1 the one acknowledged without all followers, then each


class Board:
    """The published data versions in ``folder``: written by the writer (``publish``), read by followers."""

    def __init__(self, folder: Path, followers: int = 0) -> None:
        """The board in ``folder``; the writer's names how many ``followers`` it waits for."""
        self.folder, self.followers = folder, followers
        counter = folder / "version"
        if not counter.exists():
            counter.write_bytes(bytes(8 * (2 + MAX_FOLLOWERS)))
        with counter.open("r+b") as file:
            self._counters = mmap.mmap(file.fileno(), 8 * (2 + MAX_FOLLOWERS))
        self._publishing = threading.Lock()

    def _get(self, slot: int) -> int:
        value: int = struct.unpack_from("<Q", self._counters, 8 * slot)[0]
        return value

    def version(self) -> int:
        """The newest published data version."""
        return self._get(0)

    def forced(self) -> int:
        """The newest version acknowledged before every follower had switched to it (one behind it switches first)."""
        return self._get(1)

    def switched(self, follower: int, version: int) -> None:
        """Record that ``follower`` (1, 2, ...) answers from ``version`` now."""
        struct.pack_into("<Q", self._counters, 8 * (1 + follower), version)

    def socket_path(self, follower: int) -> Path:
        """Where ``follower`` is told of new versions (a Unix socket)."""
        return self.folder / f"follower-{follower}.sock"

    def listen(self, follower: int) -> socket.socket:
        """The socket on which ``follower`` is told of new versions (a datagram each)."""
        path = self.socket_path(follower)
        path.unlink(missing_ok=True)
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listening.bind(str(path))
        listening.setblocking(False)
        return listening

    async def wait_for_followers(self, version: int, timeout_s: float) -> None:
        """Tell every follower of ``version`` and wait until each has switched to it.

        Past ``timeout_s``, the late ones are forced to switch before they answer again.
        """
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.setblocking(False)
            for follower in range(1, self.followers + 1):
                with contextlib.suppress(OSError):  # not listening yet (starting again): it reads the version at start
                    notify.sendto(b"v", str(self.socket_path(follower)))
        deadline = asyncio.get_running_loop().time() + timeout_s
        while any(self._get(1 + f) < version for f in range(1, self.followers + 1)):
            if asyncio.get_running_loop().time() > deadline:
                struct.pack_into("<Q", self._counters, 8, max(version, self.forced()))
                return
            await asyncio.sleep(0.001)

    def publish(self, store: OxigraphStore, version: int, touched: set[str] | None, written: dt.datetime) -> None:
        """Make ``version`` of ``store`` the one every process answers from (``touched``: what changed since the last)."""
        with self._publishing:
            log = self.folder / f"v{version}.json"
            log.write_text(json.dumps({"written": written.isoformat(), "touched": sorted(touched) if touched is not None else None}))
            if version < self.version():  # a later write already published a checkpoint that holds this one
                return
            store.snapshot(self.folder / f"v{version}")
            struct.pack_into("<Q", self._counters, 0, version)
            for old in self.folder.glob("v*"):
                number = old.name.removeprefix("v").removesuffix(".json")
                if number.isdigit() and (int(number) < version if old.is_dir() else int(number) <= version - KEPT_LOGS):
                    shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)

    def written(self, version: int) -> dt.datetime:
        """When ``version`` was written (published)."""
        return dt.datetime.fromisoformat(json.loads((self.folder / f"v{version}.json").read_text())["written"])

    def changes(self, since: int, upto: int) -> tuple[set[str] | None, dt.datetime | None]:
        """What the versions after ``since`` up to ``upto`` touched (``None``: anything), and when the last was written."""
        touched: set[str] | None = set()
        written = None
        for version in range(since + 1, upto + 1):
            try:
                log = json.loads((self.folder / f"v{version}.json").read_text())
            except (OSError, ValueError):  # too far back, or not yet written by a write that another one overtook
                touched = None
                continue
            written = dt.datetime.fromisoformat(log["written"])
            if touched is not None:
                touched = None if log["touched"] is None else touched | set(log["touched"])
        return touched, written

    def checkout(self, into: Path) -> tuple[int, OxigraphStore]:
        """The newest version, opened read-only from a copy of its checkpoint in the new folder ``into``."""
        while True:
            version = self.version()
            shutil.rmtree(into, ignore_errors=True)
            try:
                linked_copy(self.folder / f"v{version}", into)
            except FileNotFoundError:  # deleted meanwhile, once a newer one was published
                if self.version() == version:
                    raise
                continue
            return version, OxigraphStore.read_only(into)
