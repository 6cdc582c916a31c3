"""Consulta: API backend for participatory consultation on strategic plans."""
