"""Tables the docs take from the code, written into them by cog (``scripts/docs``).

Each function prints one Markdown table where a ``[[[cog ...]]]`` block of a doc
calls it; ``scripts/docs --check`` (run by ``scripts/test``) fails while any block
is stale, so a setting, a parameter or a module added in code shows in the docs or
stops the tests.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from pathlib import Path

import cog

from search import config
from search.cli import parser_of
from search.http import openapi

PACKAGE = Path(__file__).resolve().parent.parent / "search"


def configuration() -> None:
    """Every ``SEARCH_*`` setting: its flag, default and meaning (``search.config``)."""
    cog.outl("| variable | flag | default | meaning |")
    cog.outl("|---|---|---|---|")
    for item in dataclasses.fields(config.Settings):
        meta = item.metadata
        flag = f"`{meta['flag']}`" if meta.get("flag") else ""
        cog.outl(f"| `{meta['env']}` | {flag} | {meta['shown']} | {meta['doc']} |")


def search_parameters() -> None:
    """``GET /search``'s parameters, from the OpenAPI document the code validates with."""
    cog.outl("| parameter | type | default | meaning |")
    cog.outl("|---|---|---|---|")
    for parameter in openapi.SEARCH_PARAMETERS:
        schema = parameter["schema"]
        kind = schema.get("type", "string")
        if "enum" in schema:
            kind = " \\| ".join(f"`{value}`" for value in schema["enum"])
        default = schema.get("default", "")
        if isinstance(default, bool):
            default = str(default).lower()
        shown = f"`{default}`" if default != "" else ""
        meaning = " ".join(str(parameter.get("description", "")).split())
        cog.outl(f"| `{parameter['name']}` | {kind} | {shown} | {meaning} |")


def cli_synopsis(*commands: str) -> None:
    """The usage line of each command, as ``--help`` prints it."""
    os.environ["COLUMNS"] = "100"  # argparse wraps at the terminal's width otherwise
    cog.outl("```")
    for command in commands:
        cog.out(parser_of(command).format_usage().removeprefix("usage: "))
    cog.outl("```")


def module_map() -> None:
    """Each module of the package and the first line of its docstring."""
    cog.outl("| module | what it is for |")
    cog.outl("|---|---|")
    for path in sorted(PACKAGE.rglob("*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        if path.name == "__init__.py" and not docstring:
            continue
        name = path.relative_to(PACKAGE.parent).as_posix()
        first = (docstring or "").split("\n\n")[0].replace("\n", " ").replace("|", "\\|")
        cog.outl(f"| `{name}` | {first} |")
