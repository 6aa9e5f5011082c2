"""Identity adapters."""
