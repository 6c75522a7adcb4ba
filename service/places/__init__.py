"""Provinces and communes (national data) and villages (entered locally)."""
