"""Per-camera video analytics: sample frames from a camera, keep only what moves, detect
people (and plates), track them and turn tracks into events.

The stages are separate modules so each can be tested and benchmarked alone:
`source` (decode and sample) → `motion` (the gate that spares the detectors) →
`detectors` (HOG, ONNX) → `tracker` (IoU tracks) → `pipeline` (events for one camera).
"""
