"""News search: extraction, engines behind one seam (Whoosh by default), a falcon HTTP API."""
