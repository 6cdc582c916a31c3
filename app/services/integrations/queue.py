"""The webhook queue as the people who run the service see it (`/metrics`): how many
deliveries wait, and since when the oldest one does."""

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.metrics import QueueStats

# Deliveries to active endpoints that are neither delivered nor given up (the worker's
# partial index on status covers the scan).
QUEUE_SQL = """
SELECT count(*) FILTER (WHERE d.status = 'pending') AS pending,
       count(*) FILTER (WHERE d.status = 'retrying') AS retrying,
       min(d.created_at) AS oldest
FROM webhook_deliveries d
JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.active
WHERE d.status IN ('pending', 'retrying')
"""


async def queue_stats(session: AsyncSession) -> QueueStats:
    conn = await session.connection()
    row = (await conn.execute(text(QUEUE_SQL))).one()
    return QueueStats(pending=int(row.pending), retrying=int(row.retrying), oldest=row.oldest)
