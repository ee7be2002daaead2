"""The catalogue's first tier: entries in each process's own memory, invalidated by Redis pub/sub.

A cache hit that asks Redis costs a round trip; this tier answers from a dict. It stays fresh
because every writer publishes the version keys it bumps (in the same Lua call as the bump, so
no bump goes unannounced) and every reading process keeps a thread subscribed to that channel.

Freshness rests on three rules:

- Each version key has a local generation, counted up by every invalidation that names it. An
  entry carries the generations its reader saw *before* it read, and is served only while they
  are still current. An invalidation that lands while a slow reader is busy therefore makes
  whatever it stores unservable, the same guarantee the Redis tier gives.
- A writer's own process applies its invalidation at once, right after the bump, so a process
  always reads its own writes (and skips the echo of its own message). Other processes see them when the message arrives (well
  under a millisecond on one host): the same window as between a database commit and the Redis
  version bump that follows it.
- The tier is used only while the subscription is known to be alive. A lost connection (or a
  ping that goes unanswered for `DEAD_AFTER` seconds) drops every entry and turns the tier off
  until a new subscription is confirmed, because messages sent in between are lost.

Entries also expire after `timeout` seconds, and the tier holds at most `max_entries`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from prometheus_client import Counter

log = logging.getLogger(__name__)

INVALIDATIONS = Counter(
    "catalogue_local_cache_invalidations_total",
    "Invalidations applied to this process's catalogue memory tier, by where they came from.",
    ["origin"],
)
SUBSCRIPTIONS_LOST = Counter(
    "catalogue_local_cache_subscriptions_lost_total",
    "Times the invalidation subscription was lost and the memory tier emptied and turned off.",
)
_FROM_HERE = INVALIDATIONS.labels("this_process")
_FROM_CHANNEL = INVALIDATIONS.labels("channel")

MISSING = object()
PING_EVERY = 1.0
DEAD_AFTER = 3.0

# KEYS: the version keys; ARGV[1]: a fresh version for keys that are missing (evicted or new),
# ARGV[2]: the channel, ARGV[3]: the message. A missing key is set to a never-used number
# instead of incremented from zero, so an evicted counter cannot revive old entries.
BUMP_AND_PUBLISH = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('INCR', key)
  else
    redis.call('SET', key, ARGV[1])
  end
end
return redis.call('PUBLISH', ARGV[2], ARGV[3])
"""


class LocalTier:
    """One process's entries and the subscription that keeps them fresh."""

    def __init__(
        self, url: str, channel: str, *, timeout: float, max_entries: int = 10_000
    ) -> None:
        self.url = url
        self.channel = channel
        self.timeout = timeout
        self.max_entries = max_entries
        # Called from the listener about once a second and whenever the tier turns on or off.
        self.on_tick: Callable[[LocalTier], None] | None = None
        self._pid = os.getpid()
        self._generations: dict[str, int] = {}
        self._entries: dict[str, tuple[tuple, float, Any]] = {}
        self._epoch = 0
        self._live = False
        self._last_pong = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # -- reading ----------------------------------------------------------------------------

    def token(self, version_keys: Iterable[str]) -> tuple | None:
        """What an entry read from now on must be stored under; None while the tier is off."""
        self._ensure_listening()
        if not self._live or time.monotonic() - self._last_pong > DEAD_AFTER:
            return None
        generations = self._generations
        return (self._epoch, *(generations.get(key, 0) for key in version_keys))

    def get(self, key: str, token: tuple) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return MISSING
        stored_token, expires, value = entry
        if stored_token != token or expires < time.monotonic():
            self._entries.pop(key, None)
            return MISSING
        return value

    def put(self, key: str, token: tuple, version_keys: Iterable[str], value: Any) -> None:
        """Keep `value` unless an invalidation of its keys arrived since `token` was taken."""
        if self.token(version_keys) != token:
            return
        entries = self._entries
        if len(entries) >= self.max_entries and key not in entries:
            try:
                entries.pop(next(iter(entries)))  # the oldest stored
            except (StopIteration, KeyError, RuntimeError):
                pass
        entries[key] = (token, time.monotonic() + self.timeout, value)

    # -- invalidating -----------------------------------------------------------------------

    def invalidate(self, version_keys: Iterable[str], *, received: bool = False) -> None:
        (_FROM_CHANNEL if received else _FROM_HERE).inc()
        generations = self._generations
        for key in version_keys:
            generations[key] = generations.get(key, 0) + 1

    def clear(self) -> None:
        """Forget every entry of this process (a flush of the shared tier does not reach here)."""
        self._epoch += 1
        self._entries = {}

    @property
    def origin(self) -> str:
        """This process's name on the channel: its own messages are not applied twice."""
        return f"{os.getpid()}-{id(self)}"  # a forked child is another origin

    @staticmethod
    def message(version_keys: Iterable[str], origin: str = "-") -> str:
        return " ".join((origin, *version_keys))

    def _received(self, data: bytes) -> None:
        origin, *version_keys = data.decode().split()
        if origin != self.origin:  # the writer applied its own at once (cache._bump)
            self.invalidate(version_keys, received=True)

    # -- the subscription -------------------------------------------------------------------

    @property
    def client_name(self) -> str:
        """The subscription's connection name, as CLIENT LIST shows it."""
        return f"catalogue-invalidations-{os.getpid()}"

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def live(self) -> bool:
        return self.token(()) is not None

    def _ensure_listening(self) -> None:
        if self._pid != os.getpid():  # a forked child: the parent's thread did not come along
            self._reset_after_fork()
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen, name="catalogue-invalidations", daemon=True
                )
                self._thread.start()

    def _reset_after_fork(self) -> None:
        self._pid = os.getpid()
        self._entries = {}
        self._generations = {}
        self._epoch += 1
        self._live = False
        self._thread = None
        self._start_lock = threading.Lock()
        self._stopping = threading.Event()

    def stop(self, *, wait: bool = True) -> None:
        """End the subscription; with `wait`, until its thread has exited (at most 5 s)."""
        self._stopping.set()
        thread = self._thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._thread = None
        self._go_dark()

    def _go_dark(self) -> None:
        if self._live:
            SUBSCRIPTIONS_LOST.inc()
        self._live = False
        self._epoch += 1
        self._entries = {}
        self._tick()

    def _tick(self) -> None:
        if self.on_tick is not None:
            self.on_tick(self)

    def _go_live(self) -> None:
        self._entries = {}
        self._epoch += 1
        self._last_pong = time.monotonic()
        self._live = True
        self._tick()

    def _listen(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            client = redis.Redis.from_url(
                self.url,
                socket_connect_timeout=1,
                socket_timeout=DEAD_AFTER,
                client_name=self.client_name,
            )
            try:
                pubsub = client.pubsub()
                pubsub.subscribe(self.channel)
                last_ping = 0.0
                while not self._stopping.is_set():
                    now = time.monotonic()
                    if self._live and now - self._last_pong > DEAD_AFTER:
                        raise redis.ConnectionError("no answer to the subscription's pings")
                    if now - last_ping >= PING_EVERY:
                        pubsub.ping()
                        last_ping = now
                    message = pubsub.get_message(timeout=PING_EVERY)
                    self._tick()
                    if message is None:
                        continue
                    kind = message["type"]
                    if kind == "message":
                        self._received(message["data"])
                    elif kind == "pong":
                        self._last_pong = time.monotonic()
                    elif kind == "subscribe":
                        self._go_live()
                        backoff = 0.1
            except (redis.RedisError, OSError) as error:
                log.warning("catalogue invalidations lost (%s); local tier off", error)
            finally:
                self._go_dark()
                try:
                    client.close()
                except (redis.RedisError, OSError):
                    pass
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, 2.0)
