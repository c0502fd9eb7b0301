"""The exception tree.

Every error the service raises on purpose derives from ``SearchServiceError`` and
carries a stable machine-readable ``code``; the HTTP layer maps each class to a status
and the CLI prints its message. Anything else is a bug and is logged, never shown.

    SearchServiceError
    ├── RequestError                (4xx: the caller can fix it)
    │   ├── InvalidParameter        400 invalid_parameter
    │   ├── InvalidQuery            400 invalid_query
    │   ├── InvalidBody             400 invalid_body
    │   ├── Unauthorized            401 unauthorized
    │   ├── Forbidden               403 forbidden
    │   ├── NotFound                404 not_found
    │   └── PayloadTooLarge         413 payload_too_large
    ├── ServiceUnavailable          (503: try again later)
    │   ├── StorageFull             507 insufficient_storage
    │   ├── IndexUnavailable        503 index_unavailable
    │   ├── SearchTimeout           503 search_timeout
    │   └── ShardUnavailable        503 shard_unavailable
    ├── ArticleError                one input file or record is unusable (skipped)
    └── ReindexError                the whole run cannot proceed
        ├── LockHeld                another reindex holds the index
        ├── InvalidShards           the --shards spec cannot be read
        └── ReplicasMissed          the run wrote some replicas, not all
"""

from __future__ import annotations


class SearchServiceError(Exception):
    """Base of all deliberate errors."""

    code = "error"
    status = 500


class RequestError(SearchServiceError):
    """The request is wrong; the message says how to fix it."""

    status = 400


class InvalidParameter(RequestError):
    """A query-string parameter is missing, malformed or out of range."""

    code = "invalid_parameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class InvalidQuery(RequestError):
    """The ``q`` text cannot be understood."""

    code = "invalid_query"


class InvalidBody(RequestError):
    """A request body that is not what the endpoint takes (not JSON, say)."""

    code = "invalid_body"


class Unauthorized(RequestError):
    """No key, or one that is unknown, revoked or expired."""

    code = "unauthorized"
    status = 401


class Forbidden(RequestError):
    """A valid key whose scope does not allow the request."""

    code = "forbidden"
    status = 403


class PayloadTooLarge(RequestError):
    """A request body over the size limit."""

    code = "payload_too_large"
    status = 413


class NotFound(RequestError):
    """No such document or route."""

    code = "not_found"
    status = 404


class ServiceUnavailable(SearchServiceError):
    """The service cannot answer right now, but may soon."""

    status = 503


class StorageFull(ServiceUnavailable):
    """The disk is full: nothing of the request was written (what was acknowledged
    before is kept)."""

    code = "insufficient_storage"
    status = 507


class IndexUnavailable(ServiceUnavailable):
    """No index has been built yet at the configured location."""

    code = "index_unavailable"


class SearchTimeout(ServiceUnavailable):
    """The search ran past its time limit and was stopped."""

    code = "search_timeout"


class IndexChanging(ServiceUnavailable):
    """The index was committed to so often while a search read it that every
    revision it read was discarded before the search was done."""

    code = "index_changing"


class ShardUnavailable(ServiceUnavailable):
    """No replica of a shard answers with its latest articles, so no answer would be whole."""

    code = "shard_unavailable"


class ArticleError(SearchServiceError):
    """One input file (or one record of it) cannot be turned into an article."""

    code = "bad_article"


class ReindexError(SearchServiceError):
    """The reindex run as a whole cannot proceed."""

    code = "reindex_failed"


class LockHeld(ReindexError):
    """Another reindex is writing to this index."""

    code = "locked"


class InvalidShards(ReindexError):
    """The ``--shards`` spec (``SEARCH_SHARDS``) cannot be read."""

    code = "invalid_shards"


class ReplicasMissed(ReindexError):
    """A sharded write could not write some replicas; they are not served until they
    catch up from a peer (or a full rebuild writes them). ``unwritten`` are the
    shards it wrote no replica of: what it wrote there is nowhere."""

    code = "replicas_missed"

    def __init__(self, message: str, unwritten: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.unwritten = unwritten
