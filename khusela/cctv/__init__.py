"""CCTV: camera registry and health, per-camera analytics (motion gate, detectors,
tracker, plate recognition), recording and live view."""
