"""News search: extraction, a Whoosh index and a falcon HTTP API."""
