"""Exceptions: a (user or agency, detector, subject) stated to be expected until an expiry.

An exception in force at an event's own time stops that event's evidence for its
detector and subject from raising or growing an alert (:mod:`streams.detectors.engine`).
They come from a policy-side file (:mod:`.loader`) and the compacted ``frt.exceptions``
topic (:mod:`.records`); :class:`Exceptions` is the immutable, indexed set the engine
reads. Nothing here imports Kafka or Faust.
"""

from streams.exceptions.index import Exceptions
from streams.exceptions.record import ExceptionRecord, make_exception, record_from_dict

__all__ = ["ExceptionRecord", "Exceptions", "make_exception", "record_from_dict"]
