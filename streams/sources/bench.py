"""Parse rates of the ingest formats: ``python -m streams.sources.bench [--lines N]``.

For each format it builds N realistic records (one in ten to an FRT service, the rest
ordinary web traffic, from 200 clients) and measures, on this machine, single-threaded:

* **parse**: the format's parser alone (line to observation), lines/s;
* **pipeline**: parse, filter, attribute, group into uses and build validated
  ``frt.search.v1`` events (no Kafka), lines/s.

It is a command, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from streams.contract.dead_letter import SourceCoordinates
from streams.policy import load_policy
from streams.settings import DEFAULT_POLICY, PROJECT_ROOT
from streams.sources.attribution import AddressRanges, Attribution, LeaseTable
from streams.sources.catalogue import load_catalogue
from streams.sources.cef import CefParser
from streams.sources.mapping import MappedReader, load_mapping
from streams.sources.pipeline import HostFilter, MappedPipeline, NetworkPipeline
from streams.sources.squid import SquidParser
from streams.sources.uses import UseGrouper
from streams.sources.zeek import ZeekParser

T0 = 1772442000.0
FRT = ["pimeyes.com", "app.clearview.ai", "facecheck.id", "frt.county.example.gov"]
OTHER = [f"www.site{i}.example.com" for i in range(500)]
ZEEK_SSL = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tssl\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tversion\tcipher\tcurve\t"
    "server_name\tresumed\tlast_alert\tnext_protocol\testablished\tssl_history\tcert_chain_fps\t"
    "client_cert_chain_fps\tsni_matches_cert\n#types\ttime\tstring\taddr\tport\taddr\tport\tstring\t"
    "string\tstring\tstring\tbool\tstring\tstring\tbool\tstring\tvector[string]\tvector[string]\tbool"
)


def _records(n: int, seed: int = 7) -> list[tuple[float, str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        host = rng.choice(FRT) if rng.random() < 0.1 else rng.choice(OTHER)
        out.append((T0 + i * 0.05, f"10.10.{rng.randrange(1)}.{rng.randrange(1, 201)}", host))
    return out


def squid_lines(n: int) -> list[str]:
    return [
        f"{ts:.3f}    120 {ip} TCP_TUNNEL/200 5120 CONNECT {host}:443 - HIER_DIRECT/203.0.113.7 -"
        for ts, ip, host in _records(n)
    ]


def zeek_ssl_tsv(n: int) -> list[str]:
    body = [
        f"{ts:.6f}\tC{i:017d}\t{ip}\t52110\t203.0.113.7\t443\tTLSv13\tTLS_AES_128_GCM_SHA256\t"
        f"x25519\t{host}\tF\t-\th2\tT\tCsiI\t(empty)\t(empty)\t-"
        for i, (ts, ip, host) in enumerate(_records(n))
    ]
    return ZEEK_SSL.split("\n") + body


def zeek_ssl_json(n: int) -> list[str]:
    return [
        f'{{"ts":{ts:.6f},"uid":"C{i:017d}","id.orig_h":"{ip}","id.orig_p":52110,'
        f'"id.resp_h":"203.0.113.7","id.resp_p":443,"version":"TLSv13","server_name":"{host}",'
        f'"established":true}}'
        for i, (ts, ip, host) in enumerate(_records(n))
    ]


def cef_lines(n: int) -> list[str]:
    return [
        f"<134>1 2026-03-02T09:10:00.000Z gw CEF - - - CEF:0|Acme|Gateway|5.2|200|Web request|3|"
        f"rt={int(ts * 1000)} src={ip} request=https://{host}/search act=allowed"
        for ts, ip, host in _records(n)
    ]


def csv_lines(n: int) -> list[str]:
    header = "SearchID,SearchDateTime,AgencyORI,UserName,CaseNumber,SearchReason,CandidatesReturned,ProbeImageSHA256,RequestingAgency"
    return [header] + [
        f"A-{i:07d},03/02/2026 03:10:{i % 60:02d} AM,MPD,mpd-{i % 40:04d},MPD-2026-{i:06d},investigation,{i % 9},,"
        for i in range(n)
    ]


def _parse_rate(parser: Any, lines: list[str]) -> float:
    parse = parser.parse
    began = time.perf_counter()
    for line in lines:
        parse(line)
    return len(lines) / (time.perf_counter() - began)


def _pipeline_rate(pipe: NetworkPipeline | MappedPipeline, lines: list[str]) -> float:
    raw = [(line.encode(), SourceCoordinates("bench", 0, i)) for i, line in enumerate(lines)]
    began = time.perf_counter()
    for _ in pipe.run(iter(raw)):
        pass
    return len(raw) / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.sources.bench", description=__doc__)
    parser.add_argument(
        "--lines", type=int, default=100_000, help="records per format (default 100,000)"
    )
    args = parser.parse_args(argv)
    n = args.lines
    policy = load_policy(DEFAULT_POLICY)
    catalogue = load_catalogue()
    ranges = AddressRanges([("10.0.0.0/8", "MPD")])
    leases = LeaseTable(
        [(f"10.10.0.{i}", "MPD", f"mpd-{i:04d}", T0 - 3600, None) for i in range(1, 101)]
    )
    formats: list[tuple[str, Callable[[], Any], list[str]]] = [
        ("squid", SquidParser, squid_lines(n)),
        ("zeek-ssl (TSV)", lambda: ZeekParser("ssl"), zeek_ssl_tsv(n)),
        ("zeek-ssl (JSON)", lambda: ZeekParser("ssl"), zeek_ssl_json(n)),
        ("cef (RFC 5424)", lambda: CefParser(2026), cef_lines(n)),
    ]
    print(f"{n:,} records per format, one in ten to an FRT service; lines/s on one core")
    print(f"{'format':<18} {'parse':>12} {'pipeline':>12}")
    for name, make, lines in formats:
        parse_rate = _parse_rate(make(), lines)
        pipe = NetworkPipeline(
            make(), HostFilter(policy, catalogue), Attribution(ranges, leases), UseGrouper()
        )
        print(f"{name:<18} {parse_rate:>12,.0f} {_pipeline_rate(pipe, lines):>12,.0f}")
    mapped = MappedPipeline(
        MappedReader(load_mapping(PROJECT_ROOT / "config" / "mappings" / "csv-audit-export.yaml"))
    )
    rate = _pipeline_rate(mapped, csv_lines(n))
    print(f"{'mapped (CSV)':<18} {'-':>12} {rate:>12,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
