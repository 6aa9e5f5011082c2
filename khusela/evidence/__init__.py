"""The evidence locker: write-once media with SHA-256, cases, chain of custody, signed
export packages that `khusela evidence verify` checks byte for byte."""
