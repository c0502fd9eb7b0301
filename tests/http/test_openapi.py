"""Schemathesis over ``/openapi.json`` against a real gunicorn: generated requests to
every operation, the writing ones with an admin key on a copy of the index, get no
server error and no response outside the document."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from search.keys import Keys
from tests.conftest import ServedCopy

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)


def test_every_operation_keeps_to_the_document(served_copy: ServedCopy, tmp_path: Path) -> None:
    server = served_copy.server
    _, admin = Keys(served_copy.indexer.store.root).create("admin")
    schemathesis = shutil.which("schemathesis") or str(
        Path(__file__).resolve().parents[2] / ".venv" / "bin" / "schemathesis"
    )
    run = subprocess.run(
        [schemathesis, "run", f"{server.url}/openapi.json", "--checks", ",".join(CHECKS),
         "--max-examples", "50", "--request-timeout", "10", "--seed", "17",
         "--header", f"Authorization: Bearer {admin}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    assert "Tested: 22" in summary and "failure" not in summary.splitlines()[-1], summary
    # Made-up ids of articles are all unknown (404): schemathesis says so, and that
    # is the only warning allowed.
    warned = summary.split("Warnings:")[-1] if "Warnings:" in summary else ""
    lines = [line for line in warned.splitlines() if "⚠" in line]
    assert all("Missing test data" in line for line in lines), summary
