"""Khusela: an open public-safety operations platform for South African provinces and cities."""

__version__ = "0.1.0"
