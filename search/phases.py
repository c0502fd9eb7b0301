"""The named moments of a reindex, where a test can stop a run to kill it there.

A reindex must leave the served index whole wherever it is killed. A test that
kills after a fixed delay cannot tell where the kill landed (it may land before
anything is written, or after the run has finished), so the run says where it is:

    ner         people are being found (some texts done, others not)
    writing     the engine has taken some of the articles, not all
    committing  the engine has every article, and commits next
    committed   (the writer) pushed articles are committed, not yet marked applied
    matching    (the writer) a batch's alert matches are found, not yet recorded
    publishing  a new generation is checked, CURRENT not yet swapped to it
    cleanup     the run's changes are served; old generations are removed next

Outside tests nothing listens and reaching a phase costs a function call. A test
listens in one of two ways: in-process, with ``listening(handler)``; or, for a run
in another process, with ``SEARCH_PAUSE_AT=<phase>`` and ``SEARCH_PAUSE_FILE=<path>``
in its environment, which make the run write the phase's name to the file and stop
itself (SIGSTOP) on reaching it, for the test to kill it there.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

PHASES = ("ner", "writing", "committing", "publishing", "cleanup")
# The writer of pushed articles (``search.writer``) passes writing and committing too.
WRITER_PHASES = ("writing", "committing", "committed")
Handler = Callable[[str], None]

_handlers: list[Handler] = []


def handed_over(items: Iterable[T]) -> Iterator[T]:
    """``items`` as an engine takes them, reaching ``writing`` once it has the first."""
    for number, item in enumerate(items):
        yield item
        if number == 0:
            reached("writing")


def reached(phase: str) -> None:
    """The run is at ``phase``: tell whoever listens (they may hold it there)."""
    for handler in list(_handlers):
        handler(phase)
    if os.environ.get("SEARCH_PAUSE_AT") == phase:
        _stop_here(phase)


@contextlib.contextmanager
def listening(handler: Handler) -> Iterator[None]:
    """Call ``handler`` with each phase this process reaches, in the thread reaching it."""
    _handlers.append(handler)
    try:
        yield
    finally:
        _handlers.remove(handler)


def _stop_here(phase: str) -> None:
    """Say where the run stopped, then stop it, once (a later phase of the same name,
    in a resumed run, goes on)."""
    os.environ.pop("SEARCH_PAUSE_AT")
    target = os.environ["SEARCH_PAUSE_FILE"]
    with open(f"{target}.tmp", "w") as handle:
        handle.write(phase)
    os.replace(f"{target}.tmp", target)
    os.kill(os.getpid(), signal.SIGSTOP)
