"""Importing plan documents (with their tables and meetings) from JSON."""
