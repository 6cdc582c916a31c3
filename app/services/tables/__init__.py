"""Participation tables: CRUD, memberships, facilitators, settings, guardian consent."""
