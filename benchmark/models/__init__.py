"""Model architectures, built by name from a config (architecture is a parameter)."""
