"""The latency phase's figures: whole, per worker stage, and the slowest probes."""

from __future__ import annotations

from streams.bench.latency import Latency, Offered


def test_latency_is_split_at_the_internal_record_and_the_slowest_are_placed_in_time() -> None:
    sent = {f"p{n}": 1_000_000 + n * 50 for n in range(100)}  # a probe every 50 ms
    internal = {i: at + 20 for i, at in sent.items()}  # the ingest stage: 20 ms
    alerts = {i: at + 100 for i, at in internal.items()}  # the detection stage: 100 ms
    stalled = ["p40", "p41"]  # a stall of the detection stage around 2 s into the run
    for i in stalled:
        alerts[i] += 900
    del alerts["p99"]  # never alerted
    latency = Latency(Offered(sent=2000, seconds=5.0, probes=sent), alerts, internal)

    figures = latency.to_dict()

    assert figures["probes_without_alert"] == 1
    assert figures["p50_ms"] == 120.0
    assert figures["max_ms"] == 1020.0
    assert figures["ingest_p99_ms"] == 20.0
    assert figures["detect_p50_ms"] == 100.0
    assert figures["detect_p99_ms"] == 1000.0
    assert [s["sent_at_s"] for s in figures["slowest"][:2]] == [2.0, 2.05]


def test_probes_the_internal_topic_never_showed_are_left_out_of_the_stage_split() -> None:
    sent = {"a": 0, "b": 10}
    latency = Latency(Offered(probes=sent), {"a": 100, "b": 110}, {"a": 50})
    assert latency.stages() == {"ingest": [50.0], "detect": [50.0]}
    assert latency.percentile(50) == 100.0
