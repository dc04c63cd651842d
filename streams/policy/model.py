"""Policy as frozen values. Built only by :func:`streams.policy.loader.load_policy`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.features import LocalHours
    from streams.exceptions.record import ExceptionRecord
    from streams.sources.catalogue import Catalogue, Service


@dataclass(frozen=True, slots=True)
class AgencyPolicy:
    code: str
    name: str
    may_search_for: frozenset[str] = frozenset()
    timezone: str = "UTC"
    """The IANA time zone its hours are read in (its own, else the policy's default)."""


@dataclass(frozen=True, slots=True)
class AuthorisedEndpoint:
    host: str
    agencies: frozenset[str] | None = None  # None: every known agency

    def allows(self, agency: str) -> bool:
        return self.agencies is None or agency in self.agencies


DEFAULT_SESSION_GAP_S = 86400.0
"""The quiet event-time gap that closes an alert unless the policy says otherwise (24 h)."""


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    enabled: bool = True
    severity: str = "medium"
    session_gap_s: float | None = None
    """This detector's own session gap (``detectors.<name>.session_gap``); None: the
    policy's ``detectors.session_gap``."""
    alert_per: str = "user"
    """``detectors.<name>.alert_per``: ``user`` (one alert per user, subject and session)
    or ``agency`` (one per agency, subject and session, naming every member whose search
    is evidence). Only the subject detectors (:data:`AGENCY_WIDE_DETECTORS`) take
    ``agency``."""


ALERT_PER = ("user", "agency")
AGENCY_WIDE_DETECTORS = ("prohibited_endpoint", "unknown_endpoint", "outside_agency")
"""Detectors whose alerts may be per agency: their subject (a host, a requesting agency)
is shared by the agency's members; the others are about one person."""


@dataclass(frozen=True, slots=True)
class CaseNumberSettings(DetectorSettings):
    exempt_purposes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class BurstSettings(DetectorSettings):
    window_s: float = 3600.0
    baseline_s: float = 14 * 86400.0
    min_count: int = 15
    own_factor: float = 6.0
    peer_factor: float = 4.0
    # New users while an agency's watch is young: the floor and the peer bar, raised.
    extreme_factor: float = 3.0


@dataclass(frozen=True, slots=True)
class TrainingSettings:
    """``detectors.behavior_anomaly.training``: how the model keeps itself current
    (:mod:`models.schedule`). Every time is event time."""

    min_history_s: float = 7 * 86400.0
    """The first model is trained once the events span this much."""
    min_users: int = 20
    """... and hold this many users with enough searches to score."""
    retrain_every_s: float = 7 * 86400.0
    """A new version is trained this long after the last one's cutoff."""
    history_s: float = 28 * 86400.0
    """Each version learns from this much history before its cutoff."""
    lead_s: float = 3600.0
    """A version applies from this far past the newest event the trainer has seen:
    the time workers have to load it before events it should score arrive."""
    shadow_s: float = 0.0
    """A new version (not the first) scores beside the current one this long before
    it is promoted; 0 promotes it at once."""
    promote: str = "auto"
    """``auto``: promote after the shadow period when within the limits below;
    ``manual``: only ``frtwatch model promote`` does."""
    max_flagged_ratio: float = 2.0
    """Auto-promotion limit: the users the new version flags over the shadow period,
    at most this many times the current version's (plus one)."""
    min_correlation: float = 0.5
    """Auto-promotion limit: the two versions' scores over the shadow period correlate
    at least this much (Spearman)."""


@dataclass(frozen=True, slots=True)
class BehaviorSettings(DetectorSettings):
    model_path: Path | None = None
    training: TrainingSettings = field(default_factory=TrainingSettings)


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy file. ``source`` is the file it came from."""

    source: Path
    agencies: dict[str, AgencyPolicy]
    authorised: tuple[AuthorisedEndpoint, ...]
    prohibited_suffixes: tuple[str, ...]
    certifications_csv: Path | None
    certifications_topic: str
    session_gap_s: float = DEFAULT_SESSION_GAP_S
    """``detectors.session_gap``: an alert closes once its agency's event time is this
    far past the alert's latest evidence (see :mod:`streams.detectors.folding`)."""
    prohibited_endpoint: DetectorSettings = field(default_factory=DetectorSettings)
    unknown_endpoint: DetectorSettings = field(default_factory=DetectorSettings)
    outside_agency: DetectorSettings = field(default_factory=DetectorSettings)
    uncertified_user: DetectorSettings = field(default_factory=DetectorSettings)
    missing_case_number: CaseNumberSettings = field(default_factory=CaseNumberSettings)
    burst: BurstSettings = field(default_factory=BurstSettings)
    behavior_anomaly: BehaviorSettings = field(default_factory=BehaviorSettings)
    catalogue: Catalogue | None = None
    """The FRT service catalogue (policy key ``catalogue``): names vendors in alerts."""
    prohibited_kinds: frozenset[str] = frozenset()
    """Catalogue kinds prohibited as a whole (``catalogue.prohibit_kinds``)."""
    exceptions_file: Path | None = None
    """``exceptions.file``: the policy-side exceptions file, if any."""
    file_exceptions: tuple[ExceptionRecord, ...] = ()
    """The exceptions that file states (the engine starts from them)."""
    default_timezone: str = "UTC"
    """``default_timezone``: the IANA zone of agencies without their own ``timezone``
    (and of events from agencies the policy does not list)."""

    def local_hours(self) -> LocalHours:
        """Each agency's local hour of day, for the behaviour features (``off_hours_share``)."""
        from models.features import LocalHours

        return LocalHours(
            {code: agency.timezone for code, agency in self.agencies.items()},
            self.default_timezone,
        )

    def detector(self, name: str) -> DetectorSettings:
        """Settings of one detector by its ``frt.alert.v1`` name."""
        value = getattr(self, name)
        assert isinstance(value, DetectorSettings)
        return value

    def session_gap(self, name: str) -> float:
        """The session gap of one detector: its own, or the policy's."""
        own = self.detector(name).session_gap_s
        return own if own is not None else self.session_gap_s

    def is_prohibited(self, host: str) -> str | None:
        """The prohibited suffix ``host`` falls under, if any."""
        for suffix in self.prohibited_suffixes:
            if host == suffix or host.endswith("." + suffix):
                return suffix
        if self.prohibited_kinds and self.catalogue is not None:
            found = self.catalogue.match(host)
            if found is not None and found[0].kind in self.prohibited_kinds:
                return found[1]
        return None

    def service_of(self, host: str) -> Service | None:
        """The catalogue's service for ``host``, if the policy has a catalogue that knows it."""
        if self.catalogue is None:
            return None
        found = self.catalogue.match(host)
        return found[0] if found is not None else None

    def is_authorised(self, host: str, agency: str) -> bool:
        """Whether ``agency`` may use the FRT system at ``host``."""
        return any(ep.host == host and ep.allows(agency) for ep in self.authorised)

    def may_search_for(self, agency: str, on_behalf_of: str) -> bool:
        if agency == on_behalf_of:
            return True
        known = self.agencies.get(agency)
        return known is not None and on_behalf_of in known.may_search_for
