"""The worker's event loop (kombu's ``Hub``, a real epoll) with ``NoWaitWithWorkReady``'s tick: a callback queued
by a callback of the round before does not wait for the poll's timeout (shared/bus/celery_app.py)."""

from __future__ import annotations

import socket
import time

from kombu.asynchronous import Hub

from shared.bus.celery_app import run_ready


def _round_trip(with_tick: bool) -> float:
    """Seconds between a callback queuing another one (as the reader of a delivery queues its ack) and that one
    running, the next timer 3 s away and a socket registered that stays quiet (the broker waiting for the ack)."""
    hub = Hub()
    quiet, other = socket.socketpair()
    done: list[float] = []
    try:
        hub.add_reader(quiet, lambda: None)
        hub.call_later(3.0, lambda: None)
        if with_tick:
            hub.on_tick.add(run_ready(hub))
        started = time.monotonic()
        hub.call_soon(lambda: hub.call_soon(lambda: done.append(time.monotonic())))
        loop = hub.create_loop()
        while not done and time.monotonic() - started < 5:
            next(loop)
        return (done[0] if done else time.monotonic()) - started
    finally:
        hub.close()
        quiet.close()
        other.close()


def test_a_callback_queued_in_a_round_runs_before_the_loop_sleeps():
    assert _round_trip(with_tick=True) < 0.5


def test_without_the_tick_it_waits_for_the_next_timer():
    """What the tick is for: kombu's loop alone sleeps until its poll times out (here kombu's timer wakes it
    after 2 s; in a worker, whose next timer is the broker heartbeat, after 10 s)."""
    assert _round_trip(with_tick=False) > 1.5
