"""Comments on proposals, meetings, polls and plan nodes: the targets, reading threads,
writing, votes, and the `comments_count` counter.
"""
