"""The embedded mode's in-process worker: the timed jobs that production runs as `tenderhall procedures tick
--loop`, `tenderhall ledger integrate --loop` and `tenderhall webhooks deliver --loop`, on a daemon thread
beside the web server."""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections

from tenderhall.core import clock
from tenderhall.core.hooks import worker_jobs
from tenderhall.ledger.services import ledger_integrate_if_due
from tenderhall.procedures.scheduler import procedures_tick

logger = logging.getLogger("tenderhall.worker")


def tick() -> None:
    """One round of every timed job; a failing job is logged and retried on the next round."""
    close_old_connections()
    now = clock.now()
    try:
        # The procedures' timed steps first, so that their leaves enter the same checkpoint.
        procedures_tick(now=now)
    except Exception:
        logger.exception("procedures tick failed; retrying on the next tick")
    try:
        ledger_integrate_if_due(now)
    except Exception:
        logger.exception("ledger integration failed; retrying on the next tick")
    for job in worker_jobs():  # registered by higher apps: supervision delivers due webhooks
        try:
            job(now)
        except Exception:
            logger.exception("worker job %s failed; retrying on the next tick", getattr(job, "__name__", job))
    close_old_connections()


def start_in_process_worker(*, interval_seconds: float) -> threading.Event:
    """Run :func:`tick` every ``interval_seconds`` on a daemon thread; set the returned event to stop it."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval_seconds):
            tick()

    threading.Thread(target=run, name="tenderhall-worker", daemon=True).start()
    return stop
