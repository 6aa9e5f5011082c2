"""Intelligence sharing under need-to-know: markings, grading, handling rules, sanitising,
STIX 2.1 exchange and signed federation between provincial instances.

This package is the pure domain core: no database, no network, no clock of its own (every
rule that depends on time takes `now`). Storage, the API and access filters sit on top.
"""
