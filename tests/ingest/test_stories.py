"""Same-story detection on the samples and over the whole BBC set."""

from __future__ import annotations

import zlib
from collections import defaultdict
from itertools import combinations

import numpy as np
import pytest
from datasketch import MinHash

from search.ingest.extract import extract
from search.ingest.stories import (
    NUM_PERM,
    PERMUTATIONS,
    SCHEME,
    StoryIndex,
    is_current,
    shingles,
    signature,
    signatures,
)
from tests.conftest import BBC, SAMPLE_A, SAMPLE_B
from tests.ingest.test_extract import sample

# Unrelated news articles share well under 5 % of their word 3-shingles; two versions
# of one story (a rewrite, a syndicated copy) share far more.
RELATED = 0.3


def jaccard(a: str, b: str) -> float:
    left, right = shingles(a), shingles(b)
    return len(left & right) / len(left | right)


def test_the_two_samples_share_a_story() -> None:
    stories = StoryIndex()
    first = stories.assign(SAMPLE_A, signature(extract(sample(SAMPLE_A)).body))
    second = stories.assign(SAMPLE_B, signature(extract(sample(SAMPLE_B)).body))
    assert first == second == SAMPLE_A


def test_unrelated_articles_get_their_own_story() -> None:
    stories = StoryIndex()
    assert stories.assign("a", signature("The cat sat on the mat all day long.")) == "a"
    assert stories.assign("b", signature("Markets fell sharply on Monday in Tokyo trading.")) == "b"


def test_no_two_unrelated_bbc_articles_share_a_story() -> None:
    """Every pair grouped into one story really is one story (exact Jaccard, not the estimate)."""
    texts = {p.relative_to(BBC).as_posix(): p.read_bytes().decode("latin-1") for p in BBC.rglob("*.txt")
             if p.name != "README.TXT"}  # fmt: skip
    assert len(texts) == 2225
    stories = StoryIndex()
    groups: dict[str, list[str]] = defaultdict(list)
    for doc_id, text in sorted(texts.items()):
        groups[stories.assign(doc_id, signature(text))].append(doc_id)
    shared = [members for members in groups.values() if len(members) > 1]
    assert shared, "the BBC set has known duplicate articles"
    for members in shared:
        for a, b in combinations(members, 2):
            assert jaccard(texts[a], texts[b]) >= RELATED, (a, b)


@pytest.mark.parametrize("removed_first", [True, False])
def test_story_index_forgets_removed_articles(removed_first: bool) -> None:
    stories = StoryIndex()
    text = "One story told in the very same words by two outlets today."
    stories.assign("a", signature(text))
    if removed_first:
        stories.remove("a")
        assert stories.assign("b", signature(text)) == "b"
    else:
        assert stories.assign("b", signature(text)) == "a"


def test_a_signature_of_the_older_scheme_is_no_candidate() -> None:
    """An index written before CRC32 shingles holds SHA-1 signatures of 8 bytes a
    value: remembered from it, such an article is passed over, not compared."""
    text = "One story told in the very same words by two outlets today."
    older = bytes(8 * NUM_PERM)
    assert is_current(signature(text)) and not is_current(older)
    stories = StoryIndex()
    stories.add("old", older, "old")
    assert stories.assign("new", signature(text)) == "new"
    assert stories.assign("again", signature(text)) == "new"


def test_signatures_made_many_at_once_are_datasketchs_minhashes() -> None:
    """Bodies signed in one numpy pass get the values a datasketch ``MinHash`` of
    their shingles has (CRC32, the ``affine32`` scheme): signatures stored before
    stay comparable with new ones. Empty and short bodies, accents and a batch
    boundary included."""
    texts = [p.read_bytes().decode("latin-1") for p in sorted(BBC.rglob("*.txt"))[:300]]
    texts += ["", "One", "two words", "Élysée à Paris, à Paris."]

    def datasketch(text: str) -> bytes:
        minhash = MinHash(
            num_perm=NUM_PERM, scheme=SCHEME, permutations=PERMUTATIONS, hashfunc=zlib.crc32
        )
        minhash.update_batch([shingle.encode() for shingle in shingles(text)])
        return minhash.hashvalues.astype(np.uint32).tobytes()

    assert signatures(texts) == [datasketch(text) for text in texts]
    assert signature(texts[-1]) == datasketch(texts[-1])
