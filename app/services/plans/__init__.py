"""Plans: browsing and editing plans and their nodes, indicators and measurements
(monitoring) and progress.
"""
