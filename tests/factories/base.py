"""What every factory shares: keeping what the builders wrote."""

from sqlmodel.ext.asyncio.session import AsyncSession


async def commit_setup(session: AsyncSession) -> None:
    """Keep what the builders wrote (a savepoint release in the test's transaction) and
    detach their objects, so a request that fails and rolls back neither undoes the rows
    nor expires the objects the test still reads."""
    await session.commit()
    session.expunge_all()
