"""Same-story detection: near-duplicate articles share one story id.

Two scrapes of one story, or syndicated copies, differ in punctuation, a word here
and there, and how much of the tail was kept. Their word 3-shingle sets still
overlap far more than any two different stories do. Each body gets a MinHash
signature (datasketch); an LSH index finds candidates with an estimated Jaccard
similarity above ``THRESHOLD``, and an article joins the story of its most similar
candidate, or starts its own story named after its id.

Signatures are stored in the index, so an incremental reindex places new articles
among the old ones without re-reading them. A shingle's base hash is CRC32, which
datasketch's ``affine32`` scheme mixes (murmur's finaliser) before it permutes: its
default SHA-1 was half of a signature's time (0.31 ms an article, 0.17 with CRC32).
Many bodies are signed at once (``signatures``): their shingles' hashes go through
that scheme's mix and permutations in one numpy pass, where a datasketch ``MinHash``
an article spent most of its time on per-call work (the values are the same: a test
holds them to datasketch's). A signature of the SHA-1 scheme (8 bytes a value)
cannot be compared with today's: it is not a candidate for them (``is_current``),
and a reindex rebuilds an index holding one in full.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from itertools import chain

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

NUM_PERM = 64
SCHEME = "affine32"
THRESHOLD = 0.5
SHINGLE = 3
WORD = re.compile(r"\w+")
# The permutations every signature uses, made once: datasketch makes them anew for
# each MinHash it creates, which took 1.1 s of a 12.9 s build of the BBC set.
SEED = 1
PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
_A, _B = (np.asarray(values, dtype=np.uint32) for values in PERMUTATIONS)
# Bodies signed in one numpy pass: some 400 shingles each, 64 values a shingle.
BATCH = 256
SIGNATURE_BYTES = NUM_PERM * 4  # a 32-bit value a permutation


def shingles(text: str) -> set[str]:
    """Word 3-grams of the lower-cased text, punctuation ignored."""
    words = WORD.findall(text.lower())
    if len(words) < SHINGLE:
        return {" ".join(words)}
    return set(map(" ".join, zip(words, words[1:], words[2:], strict=False)))


def signature(text: str) -> bytes:
    """The MinHash signature of a body, as bytes fit for a stored field."""
    return signatures([text])[0]


def signatures(texts: Sequence[str]) -> list[bytes]:
    """The signatures of many bodies: datasketch's ``affine32`` MinHash of each
    body's shingles, for all of them in one pass (each at most ``BATCH`` at a time)."""
    signed: list[bytes] = []
    for start in range(0, len(texts), BATCH):
        batch = [
            [zlib.crc32(g.encode()) for g in shingles(t)] for t in texts[start : start + BATCH]
        ]
        counts = np.fromiter(map(len, batch), dtype=np.intp, count=len(batch))
        hashes = np.fromiter(chain.from_iterable(batch), dtype=np.uint32, count=int(counts.sum()))
        # A row a permutation, a column a shingle (the minima run along rows: 15x
        # faster than along columns); multiplication wraps, modulo 2^32.
        permuted = _A[:, np.newaxis] * _mixed(hashes)
        permuted += _B[:, np.newaxis]
        # Every body has one shingle at least (an empty one ""): no batch entry is empty.
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        minima = np.minimum.reduceat(permuted, starts, axis=1)
        signed.extend(column.tobytes() for column in minima.T)
    return signed


def _mixed(hashes: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, as the ``affine32`` scheme mixes a base hash."""
    hashes = (hashes ^ (hashes >> np.uint32(16))) * np.uint32(0x85EBCA6B)
    hashes = (hashes ^ (hashes >> np.uint32(13))) * np.uint32(0xC2B2AE35)
    return hashes ^ (hashes >> np.uint32(16))


def is_current(packed: bytes) -> bool:
    """Whether a stored signature is of today's scheme."""
    return len(packed) == SIGNATURE_BYTES


def _minhash(packed: bytes) -> LeanMinHash | None:
    """A stored signature as datasketch reads it: a lean MinHash, which takes its
    values as they are (a full one checks its permutations again each time)."""
    if not is_current(packed):
        return None
    return LeanMinHash(seed=SEED, hashvalues=np.frombuffer(packed, dtype=np.uint32), scheme=SCHEME)


class StoryIndex:
    """Assigns story ids; holds every signature seen so far in one LSH index."""

    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self._stories: dict[str, str] = {}
        self._hashes: dict[str, LeanMinHash] = {}

    def add(self, doc_id: str, packed: bytes, story: str) -> None:
        """Remember an already placed article (from the index); one signed by an older
        scheme is not a candidate (a full rebuild signs it anew)."""
        self.remove(doc_id)
        minhash = _minhash(packed)
        if minhash is not None:
            self._remember(doc_id, minhash, story)

    def _remember(self, doc_id: str, minhash: LeanMinHash, story: str) -> None:
        self._lsh.insert(doc_id, minhash)
        self._stories[doc_id] = story
        self._hashes[doc_id] = minhash

    def remove(self, doc_id: str) -> None:
        if doc_id in self._stories:
            self._lsh.remove(doc_id)
            del self._stories[doc_id]
            del self._hashes[doc_id]

    def assign(self, doc_id: str, packed: bytes) -> str:
        """The story of a new article: its closest near-duplicate's, else its own id."""
        self.remove(doc_id)
        minhash = _minhash(packed)
        assert minhash is not None, "signed by an older scheme"
        best, best_score = None, THRESHOLD
        for other in self._lsh.query(minhash):
            score = minhash.jaccard(self._hashes[other])
            if score >= best_score:
                best, best_score = other, score
        story = self._stories[best] if best is not None else doc_id
        self._remember(doc_id, minhash, story)
        return story
