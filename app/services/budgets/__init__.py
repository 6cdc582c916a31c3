"""Participatory budgeting: processes, areas, projects, secret ballots, counting."""
