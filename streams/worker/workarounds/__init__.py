"""Every faust-streaming (and aiokafka) workaround of the worker, in one place.

Each module names the upstream behaviour it works around and the issue that
tracks it, so that it can be deleted when upstream fixes it. Private
attributes of Faust's and aiokafka's objects are read only here
(:mod:`.private`); ``pyproject.toml`` pins both to the minor versions these
were checked against, and ``tests/unit/worker/workarounds`` fails loudly when an
assumption breaks.
"""
