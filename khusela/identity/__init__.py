"""Agencies, users, roles, clearances, sharing groups, tokens and TOTP; and the access policy."""
