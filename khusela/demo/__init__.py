"""Demo data for Gauteng: real municipalities and SAPS stations, plausible agencies and units."""
