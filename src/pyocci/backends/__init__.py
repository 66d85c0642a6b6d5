"""Backends: one cloud each behind the same interface (`pyocci.backends.api`)."""
