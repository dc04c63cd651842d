"""A Slack incoming-webhook message (``text`` fallback plus Block Kit blocks).

Alert text comes from event data (user ids, summaries) and is untrusted:
Slack's control characters ``&``, ``<`` and ``>`` are escaped so an alert
cannot ping ``<!channel>`` or smuggle a link, and the headline is a
``plain_text`` block. Lengths are cut to Slack's block limits.
"""

from __future__ import annotations

from typing import Any

from streams.webhooks.alert_message import AlertMessage
from streams.webhooks.formats.titles import detector_title

_HEADER_LIMIT = 150
_TEXT_LIMIT = 3000
_FIELD_LIMIT = 1900


def slack_escape(text: str) -> str:
    """Escape Slack's control characters.

    >>> slack_escape("<!channel> & <https://x|y>")
    '&lt;!channel&gt; &amp; &lt;https://x|y&gt;'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(f"*{label}*\n{slack_escape(value)}", _FIELD_LIMIT)}


def slack_message(alert: AlertMessage, *, first: bool) -> dict[str, Any]:
    """The alert message as a Slack incoming-webhook payload."""
    severity = alert.severity.upper()
    headline = f"{severity}: {detector_title(alert.detector)}"
    if alert.closed:
        headline = f"Closed ({alert.event_count} events) {headline}"
    elif not first:
        headline = f"Update ({alert.event_count} events) {headline}"
    who = f"{alert.agency}/{alert.user}"
    fallback = f"[{severity}] {detector_title(alert.detector)} for {who}: {alert.summary}"
    return {
        "text": _cut(slack_escape(fallback), _TEXT_LIMIT),
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _cut(headline, _HEADER_LIMIT)},
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _cut(slack_escape(alert.summary) or "-", _TEXT_LIMIT),
                },
            },
            {
                "type": "section",
                "fields": [
                    _field("Agency", alert.agency),
                    _field("User", alert.user),
                    _field("Detector", alert.detector),
                    _field("Events", str(alert.event_count)),
                    _field("First seen", alert.body.get("first_seen", "")),
                    _field("Last seen", alert.body.get("last_seen", "")),
                ],
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"frtwatch alert `{alert.alert_id}`"}],
            },
        ],
    }
