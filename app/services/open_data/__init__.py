"""Open data: each organization's DCAT-AP_IT catalog and its datasets, streamed.

* `datasets.py` — the registry: every dataset's identifier, Italian title and
  description, EU data theme, update frequency, columns and row source.
* `tabular.py` — the datasets read straight from one SQL statement each (proposals,
  comments, meetings, measurements, poll results), streamed from a server-side cursor in
  chunks, so memory stays flat whatever the table's size; `computed.py` — those built
  from the domains' own aggregates (plan nodes and indicators with their progress,
  budget and survey results), bounded by one plan, process or survey at a time.
* `encode.py` — CSV (RFC 4180, UTF-8 with a BOM, `;` with a decimal comma on request)
  and JSON Lines, chunk by chunk.
* `catalog.py` — the catalog as an rdflib graph, serialized to JSON-LD.
* `export.py` — what the router calls: validators (`ETag`, `Last-Modified`) and bodies.

Only public content ever appears: the anonymous visitor's own visibility rules
(`app/services/access/content.py`) — no drafts, nothing hidden or pending moderation,
nothing of private tables, no draft plans — and no personal data: no author, user id,
name or email column in any dataset.
"""
