"""Meetings of participation tables: scheduling, registrations and check-in, minutes,
calendars (iCalendar feeds).
"""
