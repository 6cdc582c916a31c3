"""Guards every write path calls: suspensions, pre-moderation, the content filter and
thread locks.
"""
