"""Files and pushes into articles: reading sources, extraction, people, stories."""
