"""e-Panic Button and dispatch: alerts, triage, units and their locations, dispatch."""
