"""Business rules and queries, one sub-package per domain.

The packages and the one direction of imports among them are written in ARCHITECTURE.md
and checked by `tests/test_architecture.py`.
"""
