"""Cybersecurity command centre: log ingest and normalisation, Sigma detection and
correlation, phishing analysis, incidents and approved response actions."""
