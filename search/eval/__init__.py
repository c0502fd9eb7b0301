"""Ranking and people measured against judged data."""
