"""Alerts in standard formats for other dispatch systems.

- `cap`: an OASIS CAP 1.2 `<alert>`, checked against our own schema of the CAP 1.2 data
  dictionary (`cap-1.2.xsd`) before it leaves.
- `eido`: an EIDO-style JSON incident (NENA EIDO's structure and field names, not the
  full standard).
- `view`: what an export may contain, read from the database; `api`: the routes.

Neither format ever carries the resident's note, phone number or identity.
"""
