"""Guards every write path calls: pre-moderation, the content filter and thread locks.
(Suspensions are read by the write paths' context loaders: `app/services/access/suspensions.py`.)
"""
