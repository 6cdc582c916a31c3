"""Moderation: reports, the moderation queue, moderators' actions, content status,
suspensions and the organizations' moderation settings.
"""
