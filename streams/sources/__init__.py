"""Real log sources: proxy, DNS, Zeek and vendor audit records become ``frt.search.v1`` events.

``frtwatch ingest FORMAT`` drives these modules: a parser per format turns one raw
line into an :class:`~streams.sources.records.Observation` (or a reason it cannot);
the FRT service catalogue and the policy's hosts filter network records down to FRT
traffic; the lease table attributes each record to a person; requests are grouped into
uses by an event-time gap; and every use gets a deterministic ``event_id``.
"""
