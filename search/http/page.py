"""The search page at ``/``: HTML for people, rendered from the public ``/search`` JSON.

The page runs the very request ``/search`` would run with the same parameters (plus
the people and month facets) and renders the JSON shape ``/search`` returns, so it
shows nothing the API does not. It needs no JavaScript: the query box is a GET form
(Enter searches and the URL is the shareable search) and facets, the did-you-mean
and paging are plain links; its one small script only adds completions from
``/suggest`` as the reader types. Jinja escapes every value; only the highlights, which
``search.highlight`` has escaped already with ``<mark>`` added, go in as markup.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2

from search.errors import SearchServiceError
from search.query.params import PAGE_PARAMETERS, check_known, param_values, parse_request
from search.service import SearchService

PAGE_FACETS = "people,month"
# The half-life of the page's "Favour recent" box.
PAGE_RECENCY = "30d"
SORTS = (("relevance", "Best match"), ("date", "Newest first"), ("-date", "Oldest first"))
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("search.http", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _inline_hash(tag: str) -> str:
    """The CSP source of the page's one inline ``tag`` (style, script), so that the
    policy allows it alone."""
    source = _TEMPLATES.loader.get_source(_TEMPLATES, "page.html")[0]  # type: ignore[union-attr]
    inline = re.search(rf"<{tag}>(.*?)</{tag}>", source, re.DOTALL)
    assert inline is not None, f"page.html has its {tag} inline"
    digest = hashlib.sha256(inline.group(1).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


STYLE_HASH, SCRIPT_HASH = _inline_hash("style"), _inline_hash("script")


def month_range(month: str) -> dict[str, str]:
    """The ``from``/``to`` dates that select one ``YYYY-MM`` month."""
    year, number = (int(part) for part in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    return {"from": f"{month}-01", "to": f"{month}-{last:02d}"}


class PageForm:
    """The page's own parameters, and links to the same search with some changed."""

    def __init__(self, params: Mapping[str, str | Sequence[str]]) -> None:
        self.values: dict[str, Any] = {
            name: param_values(params, name) for name in PAGE_PARAMETERS if name in params
        }

    def first(self, name: str) -> str:
        return str((self.values.get(name) or [""])[0])

    def __getitem__(self, name: str) -> Any:
        return self.people if name == "people" else self.first(name)

    def __getattr__(self, name: str) -> Any:
        return self[name]

    @property
    def people(self) -> list[str]:
        return [str(name) for name in self.values.get("people", [])]

    def link(self, **changes: Any) -> str:
        """``/?…`` with ``changes`` applied; None removes a parameter."""
        values = dict(self.values)
        for name, value in changes.items():
            if value is None or value == []:
                values.pop(name, None)
            else:
                values[name] = value if isinstance(value, list) else [str(value)]
        return "/?" + urllib.parse.urlencode(values, doseq=True) if values else "/"

    def with_person(self, name: str) -> str:
        """This search narrowed to articles that also name ``name``, from page 1."""
        return self.link(people=[*self.people, name], page=None)

    def in_month(self, month: str) -> str:
        """This search narrowed to one ``YYYY-MM`` month, from page 1."""
        return self.link(page=None, **month_range(month))

    def search_params(self) -> dict[str, Any]:
        """The ``/search`` parameters of the page; "Favour recent" is for the best
        match order and left out when the reader sorts by date."""
        values = {**self.values, "facets": PAGE_FACETS}
        if self.first("sort") not in ("", "relevance"):
            values.pop("recency", None)
        return values


def render(service: SearchService, params: Mapping[str, str | Sequence[str]]) -> tuple[int, str]:
    """Status and HTML of the page for these query-string parameters."""
    form = PageForm(params)
    results: dict[str, Any] | None = None
    error = None
    status = 200
    try:
        check_known(params, PAGE_PARAMETERS)
        results = service.search(parse_request(form.search_params())).as_dict()
    except SearchServiceError as exc:
        status, error = exc.status, str(exc)
    pages = math.ceil(results["total"] / results["per_page"]) if results else 0
    html = _TEMPLATES.get_template("page.html").render(
        form=form,
        results=results,
        error=error,
        pages=pages,
        sorts=SORTS,
        recency=PAGE_RECENCY,
        link=form.link,
        remove=lambda names, name: [n for n in names if n != name],
    )
    return status, html
