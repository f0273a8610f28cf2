"""Reading tab-separated files without losing empty trailing fields."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def read_tsv(path: str | Path, encoding: str = "utf-8") -> Iterator[dict[str, str]]:
    """Yield one dict per data line, keyed by the header.

    Trailing tabs are meaningful: ``a\\tb\\t`` has three fields, the last empty.
    We only strip the line ending, never other whitespace.
    """
    with open(path, encoding=encoding, newline="") as handle:
        header_line = handle.readline()
        if not header_line:
            return
        header = header_line.rstrip("\r\n").split("\t")
        for number, line in enumerate(handle, start=2):
            stripped = line.rstrip("\r\n")
            if not stripped:
                continue
            fields = stripped.split("\t")
            if len(fields) != len(header):
                raise ValueError(
                    f"{path}:{number}: expected {len(header)} fields, found {len(fields)} "
                    "(a missing trailing tab, perhaps?)"
                )
            yield dict(zip(header, fields, strict=True))
