"""The catalogue of FRT services (``config/frt-services.yaml``): vendor, domains, kind, source.

Network records are filtered to FRT traffic with it, alerts name the vendor from it, and
the policy may prohibit a whole kind of service. Domains are suffix rules, matched on
whole labels: ``pimeyes.com`` covers ``pimeyes.com`` and ``www.pimeyes.com`` but not
``notpimeyes.com``.

>>> cat = Catalogue((Service("PimEyes", "commercial-open-web", ("pimeyes.com",), "https://pimeyes.com/en"),))
>>> cat.match("www.pimeyes.com")
(Service(vendor='PimEyes', kind='commercial-open-web', domains=('pimeyes.com',), source='https://pimeyes.com/en', product=None, line=0), 'pimeyes.com')
>>> cat.match("notpimeyes.com") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from streams.policy.loader import YamlContext, compose_yaml, raise_errors
from streams.settings import PROJECT_ROOT

DEFAULT_CATALOGUE = PROJECT_ROOT / "config" / "frt-services.yaml"

KINDS: dict[str, str] = {
    "commercial-open-web": "commercial open-web face search",
    "government": "government system",
    "vendor-hosted": "vendor-hosted agency system",
}
"""The kinds of FRT service, by the name the catalogue and the policy use."""

_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9\-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]*[a-z0-9])?)+")
_URL = re.compile(r"https?://[^\s/]+\S*")
_SERVICE_KEYS = {"vendor", "product", "kind", "domains", "source", "notes"}
MAX_SERVICES = 10_000


@dataclass(frozen=True, slots=True)
class Service:
    """One FRT service: who runs it, what kind it is, where it lives and who says so."""

    vendor: str
    kind: str
    domains: tuple[str, ...]
    source: str
    product: str | None = None
    line: int = 0

    @property
    def name(self) -> str:
        """The vendor and product as an alert names them."""
        return f"{self.vendor} {self.product}" if self.product else self.vendor


class Catalogue:
    """Services by domain suffix; :meth:`match` is a dictionary look-up per host label."""

    def __init__(self, services: tuple[Service, ...], source: Path | None = None) -> None:
        self.services = services
        self.source = source
        self._by_suffix = {d: s for s in services for d in s.domains}

    def __len__(self) -> int:
        return len(self.services)

    def match(self, host: str) -> tuple[Service, str] | None:
        """The service ``host`` belongs to and the suffix that matched (longest first)."""
        labels = host.split(".")
        for start in range(len(labels) - 1):
            suffix = ".".join(labels[start:])
            service = self._by_suffix.get(suffix)
            if service is not None:
                return service, suffix
        return None

    def kinds(self) -> dict[str, int]:
        """Services per kind."""
        counts = dict.fromkeys(KINDS, 0)
        for service in self.services:
            counts[service.kind] += 1
        return counts


def _service(ctx: YamlContext, node: yaml.Node, index: int, seen: dict[str, int]) -> Service | None:
    where = f"services[{index}]"
    fields = ctx.mapping(node, where, _SERVICE_KEYS)
    if not isinstance(node, yaml.MappingNode):
        return None
    for required in ("vendor", "kind", "domains", "source"):
        if required not in fields:
            ctx.error(node, f"{where}: missing key {required!r}")
    vendor = ctx.string(fields["vendor"][1], f"{where}.vendor") if "vendor" in fields else None
    product = ctx.string(fields["product"][1], f"{where}.product") if "product" in fields else None
    if "notes" in fields:
        ctx.string(fields["notes"][1], f"{where}.notes")
    kind = ctx.string(fields["kind"][1], f"{where}.kind") if "kind" in fields else None
    if kind is not None and kind not in KINDS:
        ctx.error(fields["kind"][1], f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
        kind = None
    source = ctx.string(fields["source"][1], f"{where}.source") if "source" in fields else None
    if source is not None and not _URL.fullmatch(source):
        ctx.error(fields["source"][1], f"{where}.source: {source!r} is not an http(s) URL")
        source = None
    domains: list[str] = []
    if "domains" in fields:
        seq = fields["domains"][1]
        values = ctx.strings(seq, f"{where}.domains")
        if isinstance(seq, yaml.SequenceNode) and not seq.value:
            ctx.error(seq, f"{where}.domains: at least one domain is needed")
        items = seq.value if isinstance(seq, yaml.SequenceNode) else []
        for item, value in zip(items, values, strict=False):
            domain = value.lower().strip(".")
            line = item.start_mark.line + 1
            if not _DOMAIN.fullmatch(domain):
                ctx.error(item, f"{where}.domains: {value!r} is not a domain name")
            elif domain in seen:
                ctx.error(
                    item, f"{where}.domains: {domain!r} already listed on line {seen[domain]}"
                )
            else:
                seen[domain] = line
                domains.append(domain)
    if vendor is None or kind is None or source is None or not domains:
        return None
    return Service(vendor, kind, tuple(domains), source, product, node.start_mark.line + 1)


def load_catalogue(path: str | Path = DEFAULT_CATALOGUE) -> Catalogue:
    """Load and validate a catalogue; raise :class:`ConfigError` listing every ``file:line``."""
    path = Path(path)
    root, ctx = compose_yaml(path, "catalogue")
    top = ctx.mapping(root, "catalogue", {"version", "services"})
    if "version" not in top:
        ctx.error(root, "catalogue: missing key 'version' (write 'version: 1')")
    elif ctx.scalar(top["version"][1], "version") != 1:
        ctx.error(top["version"][1], "version: only version 1 is understood")
    services: list[Service] = []
    if "services" not in top:
        ctx.error(root, "catalogue: missing key 'services'")
    else:
        seq = top["services"][1]
        if not isinstance(seq, yaml.SequenceNode):
            ctx.error(seq, "services must be a list")
        elif len(seq.value) > MAX_SERVICES:
            ctx.error(seq, f"services: more than {MAX_SERVICES} entries")
        else:
            seen: dict[str, int] = {}
            for index, item in enumerate(seq.value):
                service = _service(ctx, item, index, seen)
                if service is not None:
                    services.append(service)
    raise_errors(ctx)
    return Catalogue(tuple(services), path)
