"""Judging a replay in worker processes, each with a share of the agencies, merged in order.

Agencies are independent: a user's state, its agency's state and every alert they raise
depend on that agency's events alone (in their order), never on another agency's. So
``frtwatch replay --jobs N`` judges in N processes (the replay process itself and N - 1
forked ones) and gives each agency to one of them when it first appears (:func:`assign`:
the busiest agencies first, each to the least loaded process); the rest stays where it
was:

- the replay process reads, validates and merges events as before, and cuts each slice
  into the same ``score_batch`` batches as :class:`~streams.replay.driver.ReplayDriver`;
- every batch goes to every process as its agencies' part of that batch (in the batch's
  order), which it judges as one batch through its own :class:`~streams.judge.batch.Judge`
  and :class:`~streams.judge.batch.ObjectStates` (the replay process judges its part
  while the others judge theirs); an agency therefore sees the same
  events in the same batches as in one process, so its states, alert messages and
  scores are the same;
- the replay process merges what comes back batch by batch: the alert messages (one
  alert's messages all come from one process, in their order), the scores in the order
  of the events they score, the search tally in event order, and the counts.

So the outputs (``alerts.jsonl``, ``searches.parquet``, ``scores.parquet``, the counts
in ``run.json``) are those of one process (``tests/unit/replay/test_parallel.py``). One
exception, for internal errors only: where the judge gives up on a whole batch (an
error outside any one event's judging, or a failing model call), it is that
process's part of the batch that fails, not the whole batch.

The processes are forked when the driver is made, before any Kafka client of the run
exists, and inherit the engine, the certificates, the exceptions and the model, so
nothing is pickled: events go to them and results come back as JSON over pipes
(``SearchEvent.to_fields``, the alerts' fields). They ignore Ctrl-C (the replay process
decides when to stop) and end when the driver is closed or their pipe is.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import signal
from collections import Counter
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import orjson

from models.scoring import BehaviorModel
from models.versions import ModelTimeline
from streams.contract import Alert, SearchEvent
from streams.detectors import Engine
from streams.errors import FrtwatchError
from streams.judge.batch import BatchItem, Judge, ObjectStates
from streams.replay.driver import SCORE_BATCH, ReplayDriver
from streams.report.tally import SearchTally

log = logging.getLogger(__name__)

MAX_JOBS = 64


def assign(new: Counter[str], load: list[int], share: dict[str, int]) -> None:
    """Give each agency in ``new`` (with its events in the batch at hand) a process: the
    busiest first, each to the process with the fewest events so far (then the lowest
    number). Deterministic for the same events; the outputs do not depend on it at all."""
    for agency, count in sorted(new.items(), key=lambda kv: (-kv[1], kv[0])):
        n = min(range(len(load)), key=lambda i: (load[i], i))
        share[agency] = n
        load[n] += count


def _alert_fields(alert: Alert) -> list[Any]:
    return [
        alert.alert_id, alert.detector, alert.severity, alert.agency, alert.user,
        alert.first_seen, alert.last_seen, alert.event_count, alert.event_ids, alert.summary,
        alert.details, alert.status,
    ]  # fmt: skip


def _judge_batches(
    judge: Judge, states: ObjectStates, warm: bool, batches: list[list[tuple[int, SearchEvent]]]
) -> list[dict[str, Any]]:
    """Batches of ``(index, event)`` through the judge: what the replay process merges."""
    replies = []
    for batch in batches:
        items = [BatchItem(event, index) for index, event in batch]
        result = judge.run(items, states, warm=warm)
        accepted = {id(event) for event in result.accepted}
        replies.append(
            {
                "rejected": [item.token for item in items if id(item.event) not in accepted],
                "alerts": [_alert_fields(alert) for alert in result.alerts],
                "scores": result.scores,
                "score_of": result.score_tokens,
                "duplicates": result.duplicates,
                "late": result.late,
                "excepted": result.excepted,
                "scored": result.scored,
                "failed": len(result.failures),
                "accepted": len(result.accepted),
            }
        )
    return replies


def _serve(conn: Connection, judge: Judge) -> None:
    """A judging process: requests in, results out, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # as in the replay process (streams.replay.judging.paused_cyclic_gc)
    states = ObjectStates()
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        request = orjson.loads(message)
        if request.get("stop"):
            return
        batches = [
            [(index, SearchEvent.from_fields(fields)) for index, fields in batch]
            for batch in request["batches"]
        ]
        conn.send_bytes(orjson.dumps(_judge_batches(judge, states, request["warm"], batches)))


class ParallelDriver(ReplayDriver):
    """A :class:`ReplayDriver` whose judging runs in ``jobs`` processes: this one and
    ``jobs - 1`` forked ones (see the module doc)."""

    def __init__(
        self,
        engine: Engine,
        *,
        model: BehaviorModel | ModelTimeline | None = None,
        threshold: float | None = None,
        tally: SearchTally | None = None,
        score_batch: int = SCORE_BATCH,
        jobs: int = 2,
    ) -> None:
        if not 1 <= jobs <= MAX_JOBS:
            raise ValueError(f"jobs must be 1-{MAX_JOBS}, got {jobs}")
        super().__init__(
            engine, model=model, threshold=threshold, tally=tally, score_batch=score_batch
        )
        self.jobs = jobs
        self._share: dict[str, int] = {}
        self._load = [0] * jobs
        self._conns: list[Connection] = []
        self._procs: list[BaseProcess] = []
        context = multiprocessing.get_context("fork")
        for n in range(1, jobs):  # share 0 is judged here, in self.states
            parent, child = context.Pipe()
            proc = context.Process(
                target=_serve, args=(child, self.judge), name=f"frtwatch-judge-{n}", daemon=True
            )
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)

    def warm(self, events: Sequence[SearchEvent]) -> None:
        for replies in self._run(events, warm=True):
            for reply in replies:
                self.warmed += reply["accepted"]
                self._count(reply["failed"])

    def process(self, events: Sequence[SearchEvent]) -> None:
        batches = [
            events[begin : begin + self.score_batch]
            for begin in range(0, len(events), self.score_batch)
        ]
        replies = self._run(events, warm=False)
        offset = 0
        for batch, parts in zip(batches, _by_batch(replies, len(batches), self.jobs), strict=True):
            self._merge(batch, offset, parts)
            offset += len(batch)

    def _run(self, events: Sequence[SearchEvent], *, warm: bool) -> list[list[dict[str, Any]]]:
        """Send every process its share of each batch of ``events``; their replies, by process."""
        share = self._share
        jobs = self.jobs
        new = Counter(event.agency for event in events if event.agency not in share)
        if new:
            assign(new, self._load, share)
        requests: list[list[list[tuple[int, SearchEvent]]]] = [[] for _ in range(jobs)]
        for begin in range(0, len(events), self.score_batch):
            parts: list[list[tuple[int, SearchEvent]]] = [[] for _ in range(jobs)]
            for index in range(begin, min(begin + self.score_batch, len(events))):
                event = events[index]
                parts[share[event.agency]].append((index, event))
            for n in range(jobs):
                self._load[n] += len(parts[n])
                requests[n].append(parts[n])
        for conn, batches in zip(self._conns, requests[1:], strict=True):
            fields = [[(index, event.to_fields()) for index, event in batch] for batch in batches]
            conn.send_bytes(orjson.dumps({"warm": warm, "batches": fields}))
        replies = [_judge_batches(self.judge, self.states, warm, requests[0])]
        for n, conn in enumerate(self._conns, 1):
            try:
                replies.append(orjson.loads(conn.recv_bytes()))
            except (EOFError, OSError):
                raise FrtwatchError(
                    f"judging process {n} of {jobs} ended unexpectedly (see the log above)"
                ) from None
        return replies

    def _merge(
        self, batch: Sequence[SearchEvent], offset: int, parts: list[dict[str, Any]]
    ) -> None:
        """One batch's results from every process, as :meth:`ReplayDriver._take` takes one."""
        rejected: set[int] = set()
        scored: list[tuple[int, float]] = []
        for part in parts:
            self.processed += part["accepted"]
            self.duplicates += part["duplicates"]
            self.late += part["late"]
            self.excepted += part["excepted"]
            self.scored += part["scored"]
            rejected.update(part["rejected"])
            scored += zip(part["score_of"], part["scores"], strict=True)
            self.alert_messages += len(part["alerts"])
            put = self.alerts.put
            for fields in part["alerts"]:
                put(Alert(*fields))
            self._count(part["failed"])
        if scored:
            scored.sort()
            self.scores.extend([score for _, score in scored])
        if self.tally is not None:
            count = self.tally.add
            for index, event in enumerate(batch, offset):
                if index not in rejected:
                    count(event)

    def _count(self, failed: int) -> None:
        if failed:
            self.failed += failed
            log.error("%d event(s) could not be judged (see the log above)", failed)

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send_bytes(orjson.dumps({"stop": True}))
            conn.close()
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        self._conns.clear()
        self._procs.clear()


def _by_batch(
    replies: list[list[dict[str, Any]]], batches: int, jobs: int
) -> list[list[dict[str, Any]]]:
    """Per batch, every process's reply for it."""
    return [[replies[n][b] for n in range(jobs)] for b in range(batches)]
