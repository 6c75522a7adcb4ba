"""Merchants: registration, identifiers, search, import and export."""
