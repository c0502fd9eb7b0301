"""Reading raw files: formats, ids, encodings, and every kind of bad input."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

from search.ingest.sources import MAX_FILE_BYTES, SourceFile, base_id, find_sources, read_source
from search.model import Article, Skipped


def read(root: Path, name: str):  # type: ignore[no-untyped-def]
    return read_source(SourceFile(root, root / name))


def test_an_article_without_a_story_is_a_story_of_its_own() -> None:
    assert Article(id="a", title="", body="").story_key == "a"
    assert Article(id="b", title="", body="", story="a").story_key == "a"


def test_ids_are_relative_paths_without_extensions() -> None:
    assert base_id("politics/001.txt") == "politics/001"
    assert base_id("feed.jsonl.gz") == "feed"
    assert base_id("a/b/page.html") == "a/b/page"


def test_find_sources_walks_folders_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "two.txt").write_text("x")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "README.TXT").write_text("About this data set")
    (tmp_path / "three.json.gz").write_bytes(gzip.compress(b"{}"))
    found = [s.relative for s in find_sources([tmp_path])]
    assert found == ["a/one.txt", "three.json.gz"]


def test_json_object_array_and_jsonl_ids(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps({"title": "T", "body": "Body text."}))
    (tmp_path / "many.json").write_text(json.dumps([{"body": "A."}, {"id": "given", "body": "B."}]))
    (tmp_path / "feed.jsonl").write_text('{"body": "A."}\n\n{"id": 7, "body": "B."}\n')
    assert [r.id for r in read(tmp_path, "one.json")[0]] == ["one"]
    assert [r.id for r in read(tmp_path, "many.json")[0]] == ["many#1", "given"]
    assert [r.id for r in read(tmp_path, "feed.jsonl")[0]] == ["feed#1", "7"]


def test_bad_jsonl_line_is_skipped_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "feed.jsonl").write_text(
        '{"body": "Good."}\n{"body": broken\n[1, 2]\n{"title": "no body"}\n'
    )
    records, skipped = read(tmp_path, "feed.jsonl")
    assert [r.id for r in records] == ["feed#1"]
    assert [(s.line, s.reason.split(":")[0]) for s in skipped] == [
        (2, "invalid JSON"),
        (3, "not a JSON object"),
        (4, "record has no body text"),
    ]
    assert str(skipped[0]).startswith("feed.jsonl:2: invalid JSON")


def test_gzip_and_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(b"Headline\n\nBody sentence.\n")
    (tmp_path / "ok.txt.gz").write_bytes(data)
    (tmp_path / "cut.txt.gz").write_bytes(data[: len(data) // 2])
    assert read(tmp_path, "ok.txt.gz")[0][0].content.startswith("Headline")
    records, skipped = read(tmp_path, "cut.txt.gz")
    assert not records and "truncated or corrupt gzip" in skipped[0].reason


def test_empty_binary_and_invalid_json_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 50)
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "scalar.json").write_text("42")
    reasons = {name: read(tmp_path, name)[1][0].reason for name in
               ("empty.txt", "binary.txt", "bad.json", "scalar.json")}  # fmt: skip
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"] == "binary content, not text"
    assert reasons["bad.json"].startswith("invalid JSON")
    assert reasons["scalar.json"].startswith("JSON must be an object")


def test_latin1_file_decodes(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_bytes("Prices\n\nIt cost £5 in the café.\n".encode("latin-1"))
    records, skipped = read(tmp_path, "old.txt")
    assert not skipped and "£5 in the café" in records[0].content


def test_an_unreadable_folder_is_listed_as_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "a.txt").write_text("Title\n\nBody text here.")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "b.txt").write_text("Title\n\nBody text here.")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:  # root reads any folder: refuse this one as a user's would be
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    unreadable: list[Skipped] = []
    found = [s.relative for s in find_sources([tmp_path], unreadable)]
    assert found == ["open/a.txt"]
    assert [(s.path, s.reason) for s in unreadable] == [
        ("locked/", "cannot list folder: Permission denied")
    ]


def test_gzip_members_are_all_read_and_a_bomb_stops_at_the_limit(tmp_path: Path) -> None:
    (tmp_path / "two.txt.gz").write_bytes(
        gzip.compress(b"Headline\n\nFirst part. ") + gzip.compress(b"Second part.")
    )
    records, skipped = read(tmp_path, "two.txt.gz")
    assert skipped == [] and records[0].content.endswith("First part. Second part.")
    (tmp_path / "bomb.txt.gz").write_bytes(gzip.compress(b"a" * (MAX_FILE_BYTES + 1)))
    records, skipped = read(tmp_path, "bomb.txt.gz")
    assert records == [] and "inflates past" in skipped[0].reason
