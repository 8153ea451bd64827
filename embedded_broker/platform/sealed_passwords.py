"""The background hasher: sealed passwords (bulk registration) become full-strength PBKDF2 hashes, one at a time.

Bulk registration stores BASIC passwords sealed with the data key so a 10,000-row upload answers in seconds; this
task then hashes them on the shared hashing pool, one hash in flight at a time (at most one core of the pool). It
waits while a bulk registration is running (the upload answers sooner), and it gives way while login checks are
pending (`Accounts.pending_checks`), for at most `YIELD_SECONDS` each time, so a flood of logins cannot stop it for
ever. Each hash is written in its own short transaction, only if the
row still holds the sealed value it was made from. It starts with the platform, so credentials still sealed when
the process died (kill -9) are picked up again on the next start. A pass that hashed something ends with a
platform-level `passwords_hashed` event (`detail.sealed`: how many are still sealed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from embedded_broker.platform.accounts import SEALED_LIKE, Accounts
from embedded_broker.platform.events import PlatformEvents
from embedded_broker.platform.registration import background_checkpoints, uploads_running
from embedded_broker.store import Store

log = logging.getLogger("embedded_broker.platform")
BATCH = 100  # sealed rows read per query (by rowid, so a pass reads the table once)
YIELD_SECONDS = 1.0  # the longest the hasher waits for pending login checks before it hashes the next row anyway
_POLL_SECONDS = 0.02


class SealedPasswords:
    """Runs while the platform runs: `start()` on its loop, `await stop()` before the store closes."""

    def __init__(self, accounts: Accounts, store: Store, events: PlatformEvents | None = None) -> None:
        self.accounts = accounts
        self.store = store
        self.events = events
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.hashed = 0

    def start(self) -> None:
        """Hash what is sealed now, then whatever registration seals later (it calls `accounts.on_sealed`)."""
        self.accounts.on_sealed = self._wake.set
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sealed-passwords")

    async def stop(self) -> None:
        """Cancel the task (a hash in flight is dropped; its row stays sealed and is hashed on the next start)."""
        self.accounts.on_sealed = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def sealed_count(self) -> int:
        """How many credentials are still sealed."""
        row = self.store.one("SELECT COUNT(*) AS n FROM users WHERE password_hash LIKE ?", (SEALED_LIKE,))
        return row["n"] if row is not None else 0

    async def _run(self) -> None:
        while True:
            self._wake.clear()  # before the pass: a row sealed during it sets the event again, so nothing is missed
            try:
                await self._pass()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken row or store: say so in one line, retry on the next wake-up
                log.error("hashing sealed passwords failed: %s: %s", type(exc).__name__, exc)
            await self._wake.wait()

    async def _pass(self) -> None:
        """Every row sealed now, in rowid order, one hash at a time."""
        last = 0
        started, done = time.monotonic(), 0
        async with background_checkpoints(self.store) as checkpoint:
            while True:
                rows = self.store.all("SELECT rowid AS id, tenant, name, password_hash FROM users WHERE rowid > ? "
                                      "AND password_hash LIKE ? ORDER BY rowid LIMIT ?", (last, SEALED_LIKE, BATCH))
                if not rows:
                    break
                for row in rows:
                    last = row["id"]
                    await self._give_way()
                    if await self.accounts.hash_sealed(row["tenant"], row["name"], row["password_hash"]):
                        done += 1
                        self.hashed += 1
                    checkpoint.maybe()
        if done and self.events is not None:
            left = self.sealed_count()
            self.events.emit("passwords_hashed", f"{done} sealed passwords hashed in {time.monotonic() - started:.1f} "
                             f"s; {left} still sealed", hashed=done, sealed=left)

    async def _give_way(self) -> None:
        """Wait while an upload runs, and while login checks are pending (they come first) up to YIELD_SECONDS."""
        deadline = time.monotonic() + YIELD_SECONDS
        while uploads_running(self.store) or (self.accounts.pending_checks and time.monotonic() < deadline):
            await asyncio.sleep(_POLL_SECONDS)
