"""The detection core stays pure: no Kafka or Faust, no wall clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import streams.detectors

CORE = Path(streams.detectors.__file__).parent
FORBIDDEN = {"faust", "kafka", "aiokafka", "mode"}
MODULES = sorted(CORE.glob("*.py"))


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_imports_kafka_or_faust():
    assert len(MODULES) >= 10
    offenders = {p.name: imported_roots(p) & FORBIDDEN for p in MODULES}
    assert not {k: v for k, v in offenders.items() if v}


def test_importing_the_core_loads_no_kafka_or_faust():
    code = (
        "import sys, streams.detectors\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_wall_clock():
    for path in MODULES:
        text = path.read_text()
        assert "time" not in imported_roots(path), path.name
        for call in ("datetime.now", "datetime.utcnow", "date.today", "time.time"):
            assert call not in text, f"{path.name} reads the wall clock ({call})"
