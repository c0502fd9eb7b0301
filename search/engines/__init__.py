"""Search engines behind one seam (``search.engines.base``), chosen per index.

Whoosh (pure Python, embedded) is the default. ``load`` imports an engine's
package only when an index asks for it, so an install without an optional
engine's library serves every other engine.
"""

from __future__ import annotations

from search.engines.base import Engine
from search.errors import ReindexError

ENGINES = ("whoosh", "xapian")
DEFAULT_ENGINE = "whoosh"


def load(name: str) -> Engine:
    """The engine called ``name``.

    Raises:
        ReindexError: no such engine, or its library is not installed.
    """
    if name == "whoosh":
        from search.engines.whoosh import WhooshEngine

        return WhooshEngine()
    if name == "xapian":
        try:
            from search.engines.xapian import XapianEngine
        except ImportError as exc:
            raise ReindexError(
                f"the xapian engine needs its bindings: pip install '.[xapian]' ({exc})"
            ) from exc
        return XapianEngine()
    raise ReindexError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
