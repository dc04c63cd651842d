"""OCSF Detection Finding (class_uid 2004, category Findings) for SIEMs.

Targets OCSF 1.3.0. Every attribute the class requires is set: ``activity_id``,
``category_uid``, ``class_uid``, ``finding_info`` (with ``uid``),
``metadata`` (with ``product`` and ``version``), ``severity_id``, ``time``
and ``type_uid``; recommended ones (``message``, ``status_id``,
``is_alert``, ``evidences``, ``finding_info.title``/``analytic``) too.
The alert's first message is a *Create*, later messages of the same
``alert_id`` are *Update*s of the same finding (``finding_info.uid``), and its
closing version (``status: "closed"``, the final count) is a *Close*.
Times are epoch milliseconds, as OCSF timestamps are. The untouched
``frt.alert.v1`` fields ride along in ``unmapped``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams import __version__
from streams.webhooks.alert_message import AlertMessage
from streams.webhooks.formats.titles import detector_title

OCSF_VERSION = "1.3.0"
CLASS_UID = 2004
CATEGORY_UID = 2
SEVERITY_IDS = {"low": 2, "medium": 3, "high": 4, "critical": 5}
_ACTIVITIES = {1: "Create", 2: "Update", 3: "Close"}
# OCSF analytic.type_id: 1 Rule, 3 Statistical, 4 Learning (ML/DL).
_ANALYTIC_TYPES = {"burst": (3, "Statistical"), "behavior_anomaly": (4, "Learning (ML/DL)")}
MAX_RELATED_EVENTS = 100


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _evidence(alert: AlertMessage) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "actor": {
            "user": {
                "uid": f"{alert.agency}/{alert.user}",
                "name": alert.user,
                "org": {"uid": alert.agency, "name": alert.agency},
            }
        }
    }
    endpoint = alert.details.get("endpoint")
    host = alert.details.get("host")
    url: dict[str, Any] = {}
    if isinstance(endpoint, str) and endpoint:
        url["url_string"] = endpoint
    if isinstance(host, str) and host:
        url["hostname"] = host
    if url:
        evidence["url"] = url
    return evidence


def ocsf_detection_finding(alert: AlertMessage, *, first: bool) -> dict[str, Any]:
    """The alert message as one OCSF Detection Finding event."""
    activity_id = 3 if alert.closed else 1 if first else 2
    activity = _ACTIVITIES[activity_id]
    analytic_type_id, analytic_type = _ANALYTIC_TYPES.get(alert.detector, (1, "Rule"))
    title = detector_title(alert.detector)
    return {
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"Detection Finding: {activity}",
        "time": _ms(alert.last_seen),
        "start_time": _ms(alert.first_seen),
        "end_time": _ms(alert.last_seen),
        "count": alert.event_count,
        "severity_id": SEVERITY_IDS[alert.severity],
        "severity": alert.severity.capitalize(),
        "status_id": 1,
        "status": "New",
        "is_alert": True,
        "message": alert.summary,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "frtwatch", "vendor_name": "frtwatch", "version": __version__},
            "uid": alert.webhook_id,
            "correlation_uid": alert.alert_id,
            "log_name": "frt.alerts",
        },
        "finding_info": {
            "uid": alert.alert_id,
            "title": title,
            "desc": alert.summary,
            "types": [alert.detector],
            "first_seen_time": _ms(alert.first_seen),
            "last_seen_time": _ms(alert.last_seen),
            "analytic": {
                "uid": alert.detector,
                "name": alert.detector,
                "type_id": analytic_type_id,
                "type": analytic_type,
            },
            "related_events": [{"uid": uid} for uid in alert.event_ids[:MAX_RELATED_EVENTS]],
        },
        "evidences": [_evidence(alert)],
        "unmapped": {"frt_alert": alert.body},
    }
