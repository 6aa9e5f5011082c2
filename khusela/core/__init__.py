"""Shared kernel: settings, ids, clocks, geo helpers, errors and the domain event base."""
