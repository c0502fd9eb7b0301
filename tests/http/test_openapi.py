"""Schemathesis over ``/openapi.json`` against a real gunicorn: generated requests to
every operation get no server error and no response outside the document."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import Server

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)


def test_every_operation_keeps_to_the_document(server: Server, tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis") or str(
        Path(__file__).resolve().parents[2] / ".venv" / "bin" / "schemathesis"
    )
    run = subprocess.run(
        [schemathesis, "run", f"{server.url}/openapi.json", "--checks", ",".join(CHECKS),
         "--max-examples", "50", "--request-timeout", "10", "--seed", "17"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    assert "Tested: 8" in summary and "No issues found" in summary, summary
