"""The ``/search`` request: its parameters and the one parser of ``q``."""
