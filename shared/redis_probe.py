"""Whether a Redis server answers, for callers that must not wait on one that hangs: after a failed call
(``went_away``) no request asks it again (``up`` is False) until a thread of the probe's own, pinging every
``PROBE_SECONDS``, finds it answering. A Redis that hangs then costs the requests in flight when it stopped
answering their timeout, not every request after (the gateway's counters, the services' nonce claims)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

PROBE_SECONDS = 0.5


class RedisProbe:
    def __init__(self, client: Any, name: str, back_message: str | None = None) -> None:
        """``client``: a redis-py client to ping; ``name`` names the probe's thread; ``back_message`` is
        logged (warning) when Redis answers again."""
        self.client = client
        self.name = name
        self.back_message = back_message
        self._up = threading.Event()
        self._up.set()
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        return self._up.is_set()

    def went_away(self) -> bool:
        """A call failed: stop asking until the probe finds Redis back. True for the call that noticed it first."""
        with self._lock:
            if not self._up.is_set():
                return False
            self._up.clear()
        threading.Thread(target=self._wait, name=f"{self.name}-probe", daemon=True).start()
        return True

    def _wait(self) -> None:
        import redis

        while True:
            time.sleep(PROBE_SECONDS)
            try:
                self.client.ping()
            except redis.RedisError:
                continue
            self._up.set()
            if self.back_message:
                log.warning(self.back_message)
            return
