"""Surveys: questionnaires, responses (named or anonymous), results and exports."""
