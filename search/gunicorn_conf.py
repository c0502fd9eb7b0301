"""gunicorn settings for ``search-serve`` (loaded as ``-c python:search.gunicorn_conf``).

``preload_app`` stays off: each worker imports the app after the fork and opens the
index itself, so no file handle or searcher is shared between processes. Values
come from the ``SEARCH_*`` environment that ``search-serve`` sets from its flags.
"""

import os

wsgi_app = "search.app:create_app()"
bind = [os.environ.get("SEARCH_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("SEARCH_WORKERS", "2"))
worker_class = "sync"
preload_app = False
timeout = 30
# Long queries get our own JSON 400 (q is capped at 1000 characters), not gunicorn's.
limit_request_line = 8190
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("SEARCH_LOG_LEVEL", "info")
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms rid=%({x-request-id}o)s'
)
