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
A signature of the SHA-1 scheme (8 bytes a value) cannot be compared with today's:
it is not a candidate for them (``is_current``), and a reindex rebuilds an index
holding one in full.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 64
SCHEME = "affine32"
THRESHOLD = 0.5
SHINGLE = 3
WORD = re.compile(r"\w+")
# The permutations every signature uses, made once: datasketch makes them anew for
# each MinHash it creates, which took 1.1 s of a 12.9 s build of the BBC set.
PERMUTATIONS = MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations
SIGNATURE_BYTES = NUM_PERM * 4  # a 32-bit value a permutation


def shingles(text: str) -> set[bytes]:
    """Word 3-grams of the lower-cased text, punctuation ignored."""
    words = WORD.findall(text.lower())
    if len(words) < SHINGLE:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)}


def signature(text: str) -> bytes:
    """The MinHash signature of a body, as bytes fit for a stored field."""
    minhash = MinHash(
        num_perm=NUM_PERM, scheme=SCHEME, permutations=PERMUTATIONS, hashfunc=zlib.crc32
    )
    minhash.update_batch(list(shingles(text)))
    return bytes(minhash.hashvalues.astype(np.uint32).tobytes())


def is_current(packed: bytes) -> bool:
    """Whether a stored signature is of today's scheme."""
    return len(packed) == SIGNATURE_BYTES


def _minhash(packed: bytes) -> MinHash | None:
    if not is_current(packed):
        return None
    return MinHash(
        scheme=SCHEME,
        hashvalues=np.frombuffer(packed, dtype=np.uint32),
        permutations=PERMUTATIONS,
    )


class StoryIndex:
    """Assigns story ids; holds every signature seen so far in one LSH index."""

    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self._stories: dict[str, str] = {}
        self._hashes: dict[str, MinHash] = {}

    def add(self, doc_id: str, packed: bytes, story: str) -> None:
        """Remember an already placed article (from the index); one signed by an older
        scheme is not a candidate (a full rebuild signs it anew)."""
        self.remove(doc_id)
        minhash = _minhash(packed)
        if minhash is None:
            return
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
        self.add(doc_id, packed, story)
        return story
