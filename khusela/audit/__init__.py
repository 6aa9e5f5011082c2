"""Tamper-evident audit: an append-only, hash-chained log written with the change it records."""
