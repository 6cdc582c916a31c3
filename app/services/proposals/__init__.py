"""Proposals: writing, searching, supporting, and their public shape."""
