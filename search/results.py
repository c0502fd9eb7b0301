"""What a search answers, engine-neutral: ``Results`` of ``Hit``\\ s, as the API shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Hit:
    """One result as the API shows it."""

    id: str
    score: float | None
    title: str
    date: str | None
    people: list[str]
    url: str | None
    highlights: dict[str, Any]
    duplicates: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        shown = {
            "id": self.id,
            "score": self.score,
            "title": self.title,
            "date": self.date,
            "people": self.people,
            "url": self.url,
            "highlights": self.highlights,
        }
        if self.duplicates is not None:
            shown["duplicates"] = self.duplicates
        return shown


@dataclass
class Results:
    """A page of hits with totals, facets and a spelling suggestion."""

    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    suggestion: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "took_ms": self.took_ms,
            "hits": [hit.as_dict() for hit in self.hits],
            "facets": self.facets,
            "suggestion": self.suggestion,
        }
