"""Live sessions of meetings: the SSE stream, its fan-out, questions, polls, presence.

How an event reaches every screen
---------------------------------
A live change (a question asked, liked or moderated, a poll opened, a ballot, the
session's state) is written by its service, in its own transaction, as an `events` row
with `meeting_id` set (`app/events.py`). Two triggers on `events` (migration 0014) fire
for those rows only:

* before the insert, a transaction-scoped advisory lock on the meeting is taken and only
  then the row's `seq` is drawn; the lock is held until commit. So **within a meeting,
  seq order is commit order**: once an event of a meeting with seq N is visible, every
  event of that meeting with a smaller seq is visible too, or was rolled back and never
  will be. (Globally seq order is not commit order; per meeting it is, and a stream is
  per meeting.)
* after the insert, `NOTIFY consulta_live, '<meeting>:<seq>'` — ids only, sent on commit.

Each server process holds ONE listening asyncpg connection (`hub.LiveHub`), never one
per client. On a notification it marks the meeting dirty; a single pump task reads the
meeting's events with `seq >` the last one it fanned out (one query per batch, whatever
the number of subscribers), builds the messages once (`messages.py`) and puts them on
the local subscribers' bounded queues. By the ordering argument above, "seq > last
delivered for this meeting" never skips an event that commits late.

If the listening connection is lost (PostgreSQL restarted, `pg_terminate_backend`), the
hub reconnects with backoff and then marks every followed meeting dirty, which reads what
was missed from the spine by seq; it also re-reads followed meetings every heartbeat, so
a lost notification costs at most one heartbeat of latency, never an event.

A client resuming with `Last-Event-ID: N` (the `id:` of every message is the event's
seq) first subscribes, then replays `seq > N` of its meeting from the spine, then takes
live messages, skipping those with seq it already had: each missed event once, in order.

Ballots are coalesced: a `poll.ballot_cast` event is not sent as such; the hub marks the
poll dirty and sends one `poll.results` per poll at most every `LIVE_RESULTS_INTERVAL`
seconds, with the current counts (per `results_visibility`). Presence counts are sent
without an `id:` (they are a gauge, not part of the spine).
"""
