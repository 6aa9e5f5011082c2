"""Event bus: a publish/subscribe port, in-process and NATS JetStream adapters, and the outbox."""
