"""Tables the docs take from the code, written into them by cog (``scripts/docs``).

Each function prints one Markdown table where a ``[[[cog ...]]]`` block of a doc
calls it; ``scripts/docs --check`` (run by ``scripts/test``) fails while any block
is stale, so a setting, a parameter or a module added in code shows in the docs or
stops the tests. The benchmark's and the evaluations' tables come from the JSON
their last runs wrote under ``docs/data`` (``--json``), with the command and commit.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import bench
import cog

from search import config
from search.cli import parser_of
from search.http import openapi

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "search"


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


def _figures(path: str) -> dict[str, Any]:
    """A benchmark's or an evaluation's JSON, and the line that says where it came from."""
    figures: dict[str, Any] = json.loads((ROOT / path).read_text())
    cog.outl(f"`{figures['command']}` on commit `{figures['commit']}` (`{path}`):")
    cog.outl("")
    return figures


def benchmark(path: str) -> None:
    """The closing table of a ``scripts/bench --json`` run, and the baseline's beside it."""
    figures = _figures(path)
    cog.outl(bench.side_by_side(figures["scales"]))
    if figures.get("baseline"):
        cog.outl("")
        cog.outl(f"In-process searches, this code beside commit `{figures['baseline']}`:")
        cog.outl("")
        cog.outl(bench.against(figures["scales"], figures["baseline"]))


def relevance(path: str) -> None:
    """A ``scripts/evaluate --json`` run: each engine and the peers per collection."""
    figures = _figures(path)
    measures = ("nDCG@10", "MAP", "Recall@100", "MRR@10")
    cog.outl("| collection | system | " + " | ".join(measures) + " | / best peer |")
    cog.outl("|---|---|" + "---|" * (len(measures) + 1))
    for collection, scores in figures["collections"].items():
        peers = {name: row for name, row in scores.items() if "/" not in name}
        best = max(peers, key=lambda name: peers[name]["nDCG@10"])
        shown = [f"{engine}/{form}" for engine in figures["engines"] for form in ("any", "or")]
        for number, system in enumerate(
            [*shown, *sorted(peers, key=lambda n: -peers[n]["nDCG@10"])]
        ):
            row = scores[system]
            ratio = row["nDCG@10"] / peers[best]["nDCG@10"]
            name = f"**{system}**" if "/" in system else system
            cells = " | ".join(f"{row[m]:.3f}" for m in measures)
            cog.outl(f"| {collection if number == 0 else ''} | {name} | {cells} | {ratio:.2f} |")


def people(path: str) -> None:
    """A ``scripts/evaluate --people --json`` run: the project's people and the model's."""
    figures = _figures(path)
    cog.outl("| | precision | recall | F1 |")
    cog.outl("|---|---|---|---|")
    for system, row in figures["scores"].items():
        cog.outl(f"| {system} | {row['precision']:.4f} | {row['recall']:.4f} | {row['F1']:.4f} |")
