"""English stop words for long questions: spaCy's list, read without importing spaCy.

Importing spaCy costs a search worker about 80 MB and a second, for a list that is a
plain Python file in its package; running that file alone costs neither.
"""

from __future__ import annotations

import importlib.util
import runpy
from functools import cache
from pathlib import Path


@cache
def english() -> frozenset[str]:
    """spaCy's English stop words (326 of them, contractions included)."""
    spec = importlib.util.find_spec("spacy")
    if spec is None or spec.origin is None:
        raise ImportError("spaCy is not installed; it is one of the project's dependencies")
    path = Path(spec.origin).parent / "lang" / "en" / "stop_words.py"
    return frozenset(runpy.run_path(str(path))["STOP_WORDS"])
