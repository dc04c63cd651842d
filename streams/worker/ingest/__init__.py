"""The ingest stage: triage of raw input, the event-time watermark, re-keying by agency."""
