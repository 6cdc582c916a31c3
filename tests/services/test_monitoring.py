"""Progress arithmetic: indicators from baseline to target, roll-up through the tree."""

from datetime import date

import pytest
from sqlmodel import col, select

from app.models.plans import PlanNode
from app.services.plans.progress import indicator_progress, progress_report, weighted_mean
from tests.factories import add_indicator, import_document, make_org, make_user, small_document


@pytest.mark.parametrize(
    ("baseline", "target", "latest", "expected"),
    [
        (0, 200, 50, 25.0),  # increase, a quarter of the way
        (0, 200, None, None),  # no measurement yet
        (0, 200, 0, 0.0),  # still at the baseline
        (0, 200, 260, 100.0),  # beyond the target: clamped
        (10, 20, 5, 0.0),  # went the wrong way: clamped
        (1450, 1100, 1290, 160 / 350 * 100),  # CO₂ emissions falling towards the target
        (1450, 1100, 1500, 0.0),  # emissions rose: no progress
        (1450, 1100, 900, 100.0),  # below the target: done
        (-5, 5, 0, 50.0),  # negative baselines work too
    ],
)
def test_indicator_progress(baseline, target, latest, expected):
    result = indicator_progress(baseline, target, latest)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_weighted_mean_ignores_missing_values():
    assert weighted_mean([(50.0, 1.0), (None, 5.0), (100.0, 3.0)]) == pytest.approx(87.5)
    assert weighted_mean([(None, 1.0)]) is None
    assert weighted_mean([]) is None


async def _plan_with_indicators(session):
    """A: own indicator at 100 %; A.1: 40 % (weight 1) and 50 % (weight 4) -> 48 %;
    A.2: an indicator never measured; B, B.1, B.2: nothing at all."""
    admin = await make_user(session)
    org = await make_org(session, admin=admin)
    report = await import_document(session, small_document(org.slug))
    ids = {
        n.code: n.id
        for n in (
            await session.exec(select(PlanNode).where(col(PlanNode.plan_id) == report.plan_id))
        ).all()
    }
    await add_indicator(
        session, admin, ids["A"], baseline=0, target=10, measurements=((date(2024, 1, 1), 10),)
    )
    # Recorded later but measured earlier: the latest by date (40) counts.
    await add_indicator(
        session,
        admin,
        ids["A.1"],
        baseline=0,
        target=100,
        measurements=((date(2024, 6, 30), 40), (date(2023, 1, 1), 90)),
    )
    await add_indicator(
        session,
        admin,
        ids["A.1"],
        direction="decrease",
        baseline=200,
        target=100,
        weight=4,
        measurements=((date(2024, 12, 31), 150),),
    )
    await add_indicator(session, admin, ids["A.2"], baseline=0, target=10)
    return report.plan_id, ids, org.slug


async def test_progress_rolls_up_with_weights_and_skips_nodes_without_data(session):
    plan_id, ids, _ = await _plan_with_indicators(session)

    report = await progress_report(session, None, plan_id)

    by_code = {n.code: n for n in report.nodes}
    assert [n.code for n in report.nodes] == ["A", "A.1", "A.2", "B", "B.1", "B.2"]
    assert by_code["A.1"].progress == 48.0
    assert [i.progress for i in by_code["A.1"].indicators] == [40.0, 50.0]
    assert by_code["A.1"].indicators[0].latest_value == 40
    assert by_code["A.1"].indicators[0].latest_measured_on == date(2024, 6, 30)
    assert by_code["A.1"].measured_indicators_count == 2
    # A.2 has an indicator but no measurement: null, and left out of A's mean.
    assert by_code["A.2"].progress is None and by_code["A.2"].indicators_count == 1
    assert by_code["A.2"].measured_indicators_count == 0
    assert by_code["A"].progress == 74.0  # (100 + 48) / 2
    # Nothing measured below B: null everywhere, and B does not drag the plan down.
    assert [by_code[c].progress for c in ("B", "B.1", "B.2")] == [None, None, None]
    assert report.progress == 74.0
    assert by_code["A.1"].parent_id == ids["A"] and by_code["A.1"].depth == 1


async def test_plan_without_measurements_has_no_progress(session):
    report = await import_document(session, small_document((await make_org(session)).slug))
    progress = await progress_report(session, None, report.plan_id)
    assert progress.progress is None
    assert len(progress.nodes) == 6
    assert all(n.progress is None and n.indicators == [] for n in progress.nodes)


async def test_archived_nodes_leave_the_report(session):
    plan_id, ids, org_slug = await _plan_with_indicators(session)
    edited = small_document(org_slug)
    edited["plan"]["nodes"][0]["children"].pop(0)  # A.1 leaves the plan
    await import_document(session, edited)

    report = await progress_report(session, None, plan_id)

    assert ids["A.1"] not in {n.id for n in report.nodes}
    assert {n.code: n.progress for n in report.nodes}["A"] == 100.0
    assert report.progress == 100.0
