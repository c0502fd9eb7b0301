"""The time limit of one request, checked wherever a search can spend time.

A search can run long in more places than collecting matches: expanding
wildcards and fuzzy words over the vocabulary, looking for spelling suggestions.
One ``Deadline`` made when the request starts is passed to each, so the whole
request, not one phase of it, is bounded by ``SEARCH_TIME_LIMIT_S``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from search.errors import SearchTimeout


@dataclass(frozen=True)
class Deadline:
    """When a request must have finished."""

    seconds: float
    expires: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return max(0.0, self.expires - time.monotonic())

    def passed(self) -> bool:
        return time.monotonic() >= self.expires

    def check(self) -> None:
        """Raises:
        SearchTimeout: the request has run past its time limit.
        """
        if self.passed():
            raise self.timeout()

    def timeout(self) -> SearchTimeout:
        """The error of a search stopped by this deadline, wherever it was noticed."""
        return SearchTimeout(
            f"the search ran past {self.seconds:g}s and was stopped; narrow the query"
        )
