"""``make bench``: throughput, latency, memory and state size of the worker on a real broker.

Not part of ``make test``: a measurement, whose numbers depend on the machine
and on whatever else runs on it. See :mod:`streams.bench.run` for the phases
and docs/PERFORMANCE.md for the recorded figures.
"""
