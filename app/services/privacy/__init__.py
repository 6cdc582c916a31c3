"""Personal data: the export of everything the platform holds about a person, and
erasing an account.
"""
