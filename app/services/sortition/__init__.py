"""Sortition of table members: configuration, applications, draws (computed by the
worker with `sortition-algorithms`), replacements and the public composition."""
