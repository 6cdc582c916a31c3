"""Polls of participation tables."""
