"""Raw record readers: files (plain and gzip), standard input, over-long lines, coordinates."""

from __future__ import annotations

import gzip
import io

import pytest

from streams.errors import FrtwatchError
from streams.sources.inputs import file_lines, stdin_lines
from streams.sources.records import MAX_LINE_BYTES


def test_files_plain_and_gzip_with_line_numbers(tmp_path):
    plain = tmp_path / "access.log"
    plain.write_bytes(b"one\r\ntwo\n\nthree")
    packed = tmp_path / "access.log.1.gz"
    packed.write_bytes(gzip.compress(b"four\nfive\n"))
    got = [(raw, o.topic, o.partition, o.offset) for raw, o in file_lines([packed, plain], False)]
    assert got == [
        (b"four", f"file:{packed}", 0, 1), (b"five", f"file:{packed}", 0, 2),
        (b"one", f"file:{plain}", 0, 1), (b"two", f"file:{plain}", 0, 2),
        (b"", f"file:{plain}", 0, 3), (b"three", f"file:{plain}", 0, 4),
    ]  # fmt: skip


def test_an_over_long_line_is_cut_and_the_next_line_is_intact():
    data = b"x" * (3 * MAX_LINE_BYTES) + b"\nnext\n"
    got = list(stdin_lines(io.BytesIO(data)))
    assert len(got[0][0]) == MAX_LINE_BYTES + 1, "cut just past the limit, so it is refused"
    assert got[1][0] == b"next" and got[1][1].offset == 2 and got[1][1].topic == "stdin"


def test_a_missing_file_is_one_error(tmp_path):
    with pytest.raises(FrtwatchError, match="cannot read"):
        list(file_lines([tmp_path / "nope.log"], False))
