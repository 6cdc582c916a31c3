"""Roles in organizations (admins, facilitators…)."""
