"""The HTTP API, the search page and the gunicorn worker that serves them."""
