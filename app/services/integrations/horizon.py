"""The change feed's horizon: the least transaction id that may still add an event to
THIS database's event spine. Every event with a lower `xid` belongs to a transaction
that has finished, and the feed's next statement sees all of them.

`pg_snapshot_xmin(pg_current_snapshot())` would do, but it is cluster-wide: a
transaction holding an xid in any other database of the server (another app, another
test worker) would hold the feed back. So the horizon is computed from this database's
in-progress transactions only (ARCHITECTURE.md, "The change feed", gives the argument):

1. one statement takes the snapshot S0 (and drops any earlier copy of the backends'
   status, so that step 2 reads a fresh one);
2. a later statement reads the xids of this database's backends (`pg_stat_activity`);
3. a later one still reads this database's prepared transactions;
4. the horizon is the least xid of S0's in-progress list that step 2 or 3 found (and our
   own xid, if we have one), else S0's xmax. The feed is read by the caller in the NEXT
   statement, with a snapshot taken after steps 2 and 3 (READ COMMITTED).
"""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

XID_MODULO = 2**32

SNAPSHOT_SQL = text(
    "SELECT pg_current_snapshot()::text AS snapshot,"
    " pg_current_xact_id_if_assigned()::text AS own,"
    " current_setting('transaction_isolation') AS isolation,"
    " pg_stat_clear_snapshot()::text AS cleared"
)
BACKENDS_SQL = text(
    "SELECT backend_xid::text FROM pg_stat_activity"
    " WHERE datname = current_database() AND backend_xid IS NOT NULL"
)
PREPARED_SQL = text(
    "SELECT transaction::text FROM pg_prepared_xacts WHERE database = current_database()"
)


@dataclass(frozen=True)
class Snapshot:
    """A `pg_snapshot`: every xid below `xmin` has finished; every xid below `xmax` that
    is not in `running` had finished when it was taken."""

    xmin: int
    xmax: int
    running: tuple[int, ...]

    @classmethod
    def parse(cls, value: str) -> "Snapshot":
        xmin, xmax, running = value.split(":")
        return cls(int(xmin), int(xmax), tuple(int(x) for x in running.split(",") if x))


def horizon_of(snapshot: Snapshot, here: set[int], own: int | None) -> int:
    """The horizon from S0 and the 32-bit xids of this database's transactions still in
    progress after it (`here`); `own` is the reading transaction's xid, if any (S0 leaves
    it out, but it may still add events)."""
    candidates = [x for x in snapshot.running if x % XID_MODULO in here]
    if own is not None:
        candidates.append(own)
    return min([snapshot.xmax, *candidates])


async def feed_horizon(conn: AsyncConnection) -> int:
    """The horizon for a feed read that the caller runs as its next statement."""
    first = (await conn.execute(SNAPSHOT_SQL)).one()
    snapshot = Snapshot.parse(first.snapshot)
    own = int(first.own) if first.own is not None else None
    if first.isolation != "read committed":
        # One snapshot for the whole transaction: transactions that finish after S0
        # stay invisible to the feed read, so only the (cluster-wide) xmin is safe.
        return min([snapshot.xmin, *([own] if own is not None else [])])
    here = {int(x) for x in (await conn.execute(BACKENDS_SQL)).scalars()}
    # After the backends: a transaction being prepared moves from its backend to the
    # prepared list, so reading them in this order cannot miss it.
    here |= {int(x) for x in (await conn.execute(PREPARED_SQL)).scalars()}
    return horizon_of(snapshot, here, own)
