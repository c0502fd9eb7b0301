"""Articles, and reading raw input files into records ready for extraction.

Reading is separate from extraction so that a bad byte sequence, a truncated gzip
or a broken JSON line is reported with its file (and line) before any NLP runs, and
so the indexer can hash raw bytes to decide what changed without extracting.

A file yields ``RawArticle`` records: plain text, an HTML page, or the fields of a
JSON object. Every problem becomes a ``Skipped`` entry instead of an exception, so
one bad article never stops a reindex.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import charset_normalizer

from search.errors import ArticleError
from search.model import Skipped

TEXT_SUFFIXES = {
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
}
MOSTLY_ASCII = 0.9
# A source folder's own documentation is not news: BBC's README.TXT, a LICENSE.
NOT_ARTICLES = {"readme", "license", "licence", "changelog"}
# A file (after decompression) and a JSON document past these are skipped with
# their reason: no news source needs more, and a run's memory stays bounded.
MAX_FILE_BYTES = 64 * 1024 * 1024
GZIP_WBITS = 16 + zlib.MAX_WBITS
TOO_DEEP = "JSON nested too deep to be an article"


@dataclass
class RawArticle:
    """An article as read from disk, before extraction.

    ``kind`` says how to read ``content``: ``text`` (a plain scrape), ``html`` (a
    page), or ``record`` (``fields`` from JSON; its ``body``/``html`` may still
    need cleaning).
    """

    id: str
    kind: str
    content: str
    path: str
    content_hash: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceFile:
    """A file found under a source root; ``relative`` names it in ids and reports."""

    root: Path
    path: Path

    @property
    def relative(self) -> str:
        return self.path.relative_to(self.root).as_posix()

    @property
    def kind(self) -> str | None:
        return file_kind(self.path)


def file_kind(path: Path) -> str | None:
    """The reader for ``path`` by its suffix (``.gz`` looks one suffix further), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return TEXT_SUFFIXES.get(suffixes[-1]) if suffixes else None


def find_sources(
    sources: list[Path], unreadable: list[Skipped] | None = None
) -> Iterator[SourceFile]:
    """Every readable article file under ``sources``, in a stable order.

    A folder is walked recursively and ids are relative to it; a single file is its
    own root's only member. Hidden files and folders, and README/LICENSE files, are
    ignored. A folder that cannot be listed is added to ``unreadable``.

    Raises:
        ArticleError: a source does not exist or is not readable.
    """
    for source in sources:
        if source.is_file():
            yield SourceFile(source.parent, source)
            continue
        if not source.is_dir():
            raise ArticleError(f"{source}: no such file or folder")
        yield from _walk(source, unreadable if unreadable is not None else [])


def _walk(root: Path, unreadable: list[Skipped]) -> Iterator[SourceFile]:
    def refused(error: OSError) -> None:
        where = Path(error.filename).relative_to(root).as_posix() if error.filename else "."
        unreadable.append(Skipped(f"{where}/", f"cannot list folder: {error.strerror}"))

    found = []
    for folder, subfolders, names in os.walk(root, onerror=refused):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in names:
            path = Path(folder) / name
            if name.startswith(".") or name.split(".")[0].lower() in NOT_ARTICLES:
                continue
            if file_kind(path) is not None and path.is_file():
                found.append(path)
    for path in sorted(found):
        yield SourceFile(root, path)


def base_id(relative: str) -> str:
    """A file's article id: its path relative to the source root, without extensions."""
    path = Path(relative)
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return (path.parent / stem).as_posix() if path.parent != Path(".") else stem


def unpack(path: Path, data: bytes) -> bytes:
    """A file's content bytes, gunzipped when its name ends in ``.gz``.

    Decompression streams and stops at ``MAX_FILE_BYTES``, so a small file that
    inflates to gigabytes (a gzip bomb) costs no more memory than the limit.

    Raises:
        ArticleError: empty, too large, or a truncated/corrupt gzip stream.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ArticleError(f"file is {len(data):,} bytes, over the {MAX_FILE_BYTES:,} limit")
    if path.suffix.lower() == ".gz":
        data = _gunzip(data)
    if not data.strip():
        raise ArticleError("empty file")
    return data


def _gunzip(data: bytes) -> bytes:
    """Every gzip member of ``data`` inflated, stopping past ``MAX_FILE_BYTES``."""
    content = b""
    while data:
        inflate = zlib.decompressobj(wbits=GZIP_WBITS)
        try:
            content += inflate.decompress(data, MAX_FILE_BYTES + 1 - len(content))
            if len(content) > MAX_FILE_BYTES or inflate.unconsumed_tail:
                raise ArticleError(f"gzip content inflates past the {MAX_FILE_BYTES:,}-byte limit")
            content += inflate.flush()
        except zlib.error as exc:
            raise ArticleError(f"truncated or corrupt gzip: {exc}") from exc
        if not inflate.eof:
            raise ArticleError("truncated or corrupt gzip: the stream ends early")
        data = inflate.unused_data
    return content


def decode(data: bytes) -> str:
    """Text from bytes: UTF-8 first, then Windows-1252 or the detected encoding, then Latin-1.

    Raises:
        ArticleError: the bytes look binary (NUL or many control bytes).
    """
    head = data[:8192]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or controls > len(head) * 0.05:
        raise ArticleError("binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if sum(b < 128 for b in data) > len(data) * MOSTLY_ASCII:
        # A Western page with a few stray bytes (£, é): detectors guess wildly on
        # so little evidence, and Windows-1252 is what such news files nearly always are.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best)
    return data.decode("latin-1")


def content_hash(data: bytes) -> str:
    """A digest of a file's bytes: what decides 'changed' for incremental reindex."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def read_source(source: SourceFile) -> tuple[list[RawArticle], list[Skipped]]:
    """All raw articles of one file, and what of it had to be skipped."""
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        return [], [Skipped(source.relative, f"cannot read: {exc.strerror or exc}")]
    return parse_source(source, data, content_hash(data))


def parse_source(
    source: SourceFile, data: bytes, digest: str
) -> tuple[list[RawArticle], list[Skipped]]:
    """Raw articles from a file's bytes (already read, and hashed for change detection)."""
    relative = source.relative
    try:
        text = decode(unpack(source.path, data))
    except ArticleError as exc:
        return [], [Skipped(relative, str(exc))]
    kind = source.kind
    ident = base_id(relative)
    if kind in ("text", "html"):
        return [RawArticle(ident, str(kind), text, relative, digest)], []
    if kind == "json":
        return _read_json(text, ident, relative, digest)
    return _read_jsonl(text, ident, relative, digest)


def _read_json(
    text: str, ident: str, relative: str, digest: str
) -> tuple[list[RawArticle], list[Skipped]]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [Skipped(relative, f"invalid JSON: {exc.msg}", exc.lineno)]
    except RecursionError:
        return [], [Skipped(relative, TOO_DEEP)]
    if isinstance(loaded, dict):
        return _records([(None, loaded)], ident, relative, digest, single=True)
    if isinstance(loaded, list):
        return _records(list(enumerate(loaded, 1)), ident, relative, digest, single=False)
    return [], [Skipped(relative, "JSON must be an object or an array of objects")]


def _read_jsonl(
    text: str, ident: str, relative: str, digest: str
) -> tuple[list[RawArticle], list[Skipped]]:
    items: list[tuple[int | None, Any]] = []
    skipped: list[Skipped] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            skipped.append(Skipped(relative, f"invalid JSON: {exc.msg}", number))
        except RecursionError:
            skipped.append(Skipped(relative, TOO_DEEP, number))
    records, bad = _records(items, ident, relative, digest, single=False)
    return records, skipped + bad


def _records(
    items: list[tuple[int | None, Any]], ident: str, relative: str, digest: str, single: bool
) -> tuple[list[RawArticle], list[Skipped]]:
    """Turn decoded JSON objects into raw articles; ids follow the contract's rules."""
    records: list[RawArticle] = []
    skipped: list[Skipped] = []
    for number, item in items:
        if not isinstance(item, dict):
            skipped.append(Skipped(relative, "not a JSON object", number))
            continue
        explicit = item.get("id")
        if explicit is not None and not isinstance(explicit, str | int):
            skipped.append(Skipped(relative, "id must be a string", number))
            continue
        if explicit is not None and str(explicit).strip():
            record_id = str(explicit).strip()
        else:
            record_id = ident if single else f"{ident}#{number}"
        try:
            records.append(record_of(item, record_id, relative, digest))
        except ArticleError as exc:
            skipped.append(Skipped(relative, str(exc), number))
    return records, skipped


def record_of(item: dict[str, Any], record_id: str, path: str, digest: str) -> RawArticle:
    """A JSON object as a raw article: its ``body`` or ``text`` to clean, or its
    ``html`` to extract.

    Raises:
        ArticleError: it has no body text.
    """
    content = item.get("body") or item.get("text") or item.get("html") or ""
    if not isinstance(content, str) or not content.strip():
        raise ArticleError("record has no body text")
    kind = "html" if "body" not in item and "text" not in item else "record"
    return RawArticle(record_id, kind, content, path, digest, fields=item)
