"""The streaming worker: the Faust app and its two stages.

- :mod:`streams.worker.ingest`: reads the input topic, validates and
  dead-letters, merges the input partitions under an event-time watermark and
  re-keys events by agency onto the internal topic;
- :mod:`streams.worker.detect`: the Faust agent that hands each batch to the
  judge (:mod:`streams.judge`) and stores the states it returns;
- :mod:`streams.worker.workarounds`: every faust-streaming workaround and
  private-attribute access, each naming the upstream issue it answers.
"""
