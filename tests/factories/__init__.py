"""The one set of test factories: builders that write rows straight to the database, and
readers of the state the API leaves there, one module per domain. Import them from here:
`from tests.factories import make_scene, make_proposal`. HTTP and assertion helpers live
in `tests.helpers`.

Every builder only flushes; `commit_setup` keeps what they wrote before a request.
"""

from tests.factories.accounts import PASSWORD, PASSWORD_HASH, make_people, make_user
from tests.factories.base import commit_setup
from tests.factories.comments import comments_count, make_comment, make_pending_comment
from tests.factories.conversations import (
    add_votes,
    make_conversation,
    make_statement,
    vote_tally,
)
from tests.factories.meetings import let_meeting_begin, make_meeting
from tests.factories.moderation import (
    audit_actions,
    moderation_row,
    status_of,
    undismissed_reports,
)
from tests.factories.open_data import (
    OpenDataScene,
    make_open_data_scene,
    read_csv,
    read_jsonl,
)
from tests.factories.organizations import (
    make_municipality,
    make_org,
    set_blocked_words,
    set_report_threshold,
)
from tests.factories.plans import (
    BUNDLED,
    add_indicator,
    count_rows,
    import_document,
    make_plan,
    plan_document,
    small_document,
    walk,
)
from tests.factories.polls import make_poll
from tests.factories.proposals import make_proposal, support_rows
from tests.factories.scene import Scene, SceneContent, make_scene
from tests.factories.sortition import (
    AGE_BAND,
    GENDER,
    applicants_by_key,
    application_of,
    configure_sortition,
    make_applicants,
    pool,
    run_draw,
)
from tests.factories.tables import add_member, make_table, set_settings
from tests.factories.world import World, make_world

__all__ = [
    "AGE_BAND",
    "BUNDLED",
    "GENDER",
    "PASSWORD",
    "PASSWORD_HASH",
    "OpenDataScene",
    "Scene",
    "SceneContent",
    "World",
    "add_indicator",
    "add_member",
    "add_votes",
    "applicants_by_key",
    "application_of",
    "audit_actions",
    "comments_count",
    "commit_setup",
    "configure_sortition",
    "count_rows",
    "import_document",
    "let_meeting_begin",
    "make_applicants",
    "make_comment",
    "make_conversation",
    "make_meeting",
    "make_municipality",
    "make_open_data_scene",
    "make_org",
    "make_pending_comment",
    "make_people",
    "make_plan",
    "make_poll",
    "make_proposal",
    "make_scene",
    "make_statement",
    "make_table",
    "make_user",
    "make_world",
    "moderation_row",
    "plan_document",
    "pool",
    "read_csv",
    "read_jsonl",
    "run_draw",
    "set_blocked_words",
    "set_report_threshold",
    "set_settings",
    "small_document",
    "status_of",
    "support_rows",
    "undismissed_reports",
    "vote_tally",
    "walk",
]
