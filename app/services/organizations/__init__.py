"""Organizations and their municipalities."""
