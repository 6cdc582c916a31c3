"""Conversations of a table and their opinion maps (Polis-style).

* `access.py` — a conversation or statement with its table's context, in one query;
  who sees which statements;
* `conversations.py` — create, list, read, change conversations (facilitators);
* `statements.py` — write, list and pick the next statement; pre-moderation;
* `statement_kind.py` — statements as a content kind (reports, moderation, hiding);
* `votes.py` — agree / disagree / pass, one per person, exact counts; marks the map dirty;
* `pipeline.py` — the map itself, computed with `red-dwarf` (no database);
* `maps.py` — the worker's coalesced recomputation and the stored map as served;
* `render.py` — the map as an SVG image;
* `opendata.py` — rows of the `conversation-statements` and `conversation-votes` datasets;
* `privacy.py` — GDPR export and erasure of statements and votes.
"""
