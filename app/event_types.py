"""Every event type of the spine (`app/events.py`), in one place.

Integrators subscribe to these names, so they are stable: each member is the `type`
written to `events`, with when it is written and its payload. Payloads carry ids and the
names of changed fields, never personal data. Events written through `record_audit`
(marked "audited") also carry `audit_id`, the id of their row in the audit log.
`record_event` and `record_audit` take an `EventType`, never a string (mypy, and
`tests/test_event_types.py` on the source, check it). A new event: add a member here,
with its meaning.
"""

from app.catalogue import Catalogue


class EventType(Catalogue):
    # --- people ----------------------------------------------------------------------
    USER_REGISTERED = "user.registered", "An account was created. Payload: none."
    USER_EMAIL_VERIFIED = "user.email_verified", "An email address was verified. Payload: none."
    USER_SIGNED_IN = "user.signed_in", "A person signed in. Payload: none."
    USER_SIGNED_OUT = "user.signed_out", "A person signed out. Payload: none."
    USER_REFRESH_TOKEN_REUSED = (
        "user.refresh_token_reused",
        "A rotated refresh token was replayed and its family revoked. Payload: `family_id`.",
    )
    USER_PASSWORD_RESET = "user.password_reset", "A password was reset. Payload: none."
    USER_UPDATED = "user.updated", "A person changed their profile. Payload: `fields`."
    USER_PLATFORM_ADMIN_GRANTED = (
        "user.platform_admin_granted",
        "A person became platform administrator. Payload: none.",
    )
    USER_DELETED = (
        "user.deleted",
        "Audited: an account was erased. Payload: counts of what was erased or kept.",
    )

    # --- organizations -----------------------------------------------------------------
    ORGANIZATION_CREATED = (
        "organization.created",
        "Audited: an organization was created (by hand or by a plan import). "
        "Payload: `slug`, `municipality_ids`, `source` for imports.",
    )
    ORGANIZATION_UPDATED = "organization.updated", "Audited: an organization changed. `fields`."
    ORGANIZATION_MODERATION_SETTINGS_UPDATED = (
        "organization.moderation_settings_updated",
        "Audited: moderation settings changed. Payload: `fields` and the new switches.",
    )
    ORGANIZATION_ROLE_ASSIGNED = (
        "organization.role_assigned",
        "Audited: a person got an organization role. Payload: `role`, `role_id`.",
    )
    ORGANIZATION_ROLE_REVOKED = (
        "organization.role_revoked",
        "Audited: an organization role was revoked. Payload: `role`, `role_id`.",
    )
    MUNICIPALITY_CREATED = "municipality.created", "Audited: a municipality was added. `name`."

    # --- plans and monitoring ----------------------------------------------------------
    PLAN_UPDATED = "plan.updated", "Audited: a plan changed. Payload: `fields`, `version`."
    PLAN_IMPORTED = (
        "plan.imported",
        "Audited: a plan document was imported. Payload: what was created and changed.",
    )
    PLAN_NODE_CREATED = (
        "plan_node.created",
        "An import added a plan node. Payload: `plan_id`, `code`, `source`.",
    )
    PLAN_NODE_UPDATED = (
        "plan_node.updated",
        "A plan node changed (audited when by hand). Payload: `plan_id`, `fields`, "
        "`version` or `code`, `source`.",
    )
    PLAN_NODE_ARCHIVED = (
        "plan_node.archived",
        "An import archived a node no longer in the document. Payload: `plan_id`, `code`.",
    )
    PLAN_NODE_RESTORED = (
        "plan_node.restored",
        "An import restored an archived node. Payload: `plan_id`, `code`, `source`.",
    )
    INDICATOR_CREATED = (
        "indicator.created",
        "Audited: a monitoring indicator was added. Payload: `plan_id`, `node_id`.",
    )
    MEASUREMENT_RECORDED = (
        "measurement.recorded",
        "Audited: a measurement was recorded. Payload: `indicator_id`, `node_id`, `plan_id`.",
    )

    # --- tables and their members ------------------------------------------------------
    TABLE_CREATED = (
        "table.created",
        "Audited when by hand: a table was created. Payload: `slug`, `visibility` "
        "(imports: `source`).",
    )
    TABLE_UPDATED = "table.updated", "A table changed (audited when by hand). Payload: `fields`."
    TABLE_SETTINGS_UPDATED = (
        "table.settings_updated",
        "Audited: a table's settings changed. Payload: `fields` and the new values.",
    )
    MEMBERSHIP_REQUESTED = (
        "membership.requested",
        "A person asked to join a table. Payload: `table_id`, `user_id`, `role`, `status`.",
    )
    MEMBERSHIP_JOINED = (
        "membership.joined",
        "A person joined a table. Payload: `table_id`, `user_id`, `role`, `status`, `via`.",
    )
    MEMBERSHIP_INVITED = (
        "membership.invited",
        "Audited: a facilitator invited a person. Payload: `table_id`, `user_id`, `role`, "
        "`status`.",
    )
    MEMBERSHIP_APPROVED = (
        "membership.approved",
        "Audited: a request to join was approved. Payload as `membership.requested`.",
    )
    MEMBERSHIP_REJECTED = (
        "membership.rejected",
        "Audited: a request to join was rejected. Payload as `membership.requested`.",
    )
    MEMBERSHIP_ROLE_CHANGED = (
        "membership.role_changed",
        "Audited: a member became facilitator or back. Payload as above, new `role`.",
    )
    MEMBERSHIP_LEFT = (
        "membership.left",
        "A person left a table (or their account was erased). Payload as above.",
    )
    MEMBERSHIP_REMOVED = (
        "membership.removed",
        "Audited: a facilitator removed a member. Payload as above.",
    )
    SORTITION_CONFIGURED = (
        "sortition.configured",
        "Audited: a table's sortition (features, quotas, window, algorithm) was set. "
        "Payload: `table_id`, `number_to_select`, `algorithm`, `features`.",
    )
    SORTITION_SEED_PUBLISHED = (
        "sortition.seed_published",
        "Audited: a table's sortition seed was published or changed. Payload: `table_id`, "
        "`seed`, `seed_source`.",
    )
    SORTITION_APPLIED = (
        "sortition.applied",
        "A person applied to be drawn. Payload: `table_id` (never the declared features).",
    )
    SORTITION_APPLICATION_WITHDRAWN = (
        "sortition.application_withdrawn",
        "A person withdrew their application. Payload: `table_id`.",
    )
    SORTITION_DRAW_REQUESTED = (
        "sortition.draw_requested",
        "Audited: a facilitator queued a draw. Payload: `table_id`, `draw_id`, `seed`, "
        "`inputs_hash`, `algorithm`, `library_version`, `applicants_count`.",
    )
    SORTITION_DRAW_COMPLETED = (
        "sortition.draw_completed",
        "Audited: the worker finished a draw. Payload: `table_id`, `draw_id`, `status` "
        "(done or failed), `inputs_hash`, `selected_count`.",
    )
    SORTITION_REPLACEMENT = (
        "sortition.replacement",
        "Audited: a panel member was replaced from the reserve list. Payload: `table_id`, "
        "`draw_id`, `replaced_user_id`, `replacement_user_id`, `reserve_rank`.",
    )
    GUARDIAN_CONSENT_RECORDED = (
        "guardian_consent.recorded",
        "Audited: a guardian's consent was recorded. Payload: `audit_id` only.",
    )
    GUARDIAN_CONSENT_WITHDRAWN = (
        "guardian_consent.withdrawn",
        "Audited: a guardian's consent was withdrawn. Payload: `audit_id` only.",
    )

    # --- proposals -----------------------------------------------------------------------
    PROPOSAL_CREATED = (
        "proposal.created",
        "A proposal was written (draft or published). Payload: `table_id`, `status`.",
    )
    PROPOSAL_PUBLISHED = (
        "proposal.published",
        "A proposal was published. Payload: `table_id`, `moderation_status` (pending when "
        "held for review), `held_by`.",
    )
    PROPOSAL_UPDATED = "proposal.updated", "A proposal was edited. Payload: `table_id`, `fields`."
    PROPOSAL_WITHDRAWN = "proposal.withdrawn", "A proposal was withdrawn. Payload: `table_id`."
    PROPOSAL_ANSWERED = (
        "proposal.answered",
        "Audited: the table answered a proposal. Payload: `table_id`, `state`.",
    )
    PROPOSAL_SUPPORTED = "proposal.supported", "A proposal got a support. Payload: `table_id`."
    PROPOSAL_SUPPORT_WITHDRAWN = (
        "proposal.support_withdrawn",
        "A support was withdrawn. Payload: `table_id`.",
    )
    PROPOSAL_THRESHOLD_REACHED = (
        "proposal.threshold_reached",
        "A proposal reached its table's support threshold. Payload: `table_id`, "
        "`support_threshold`.",
    )
    PROPOSAL_DELETED = (
        "proposal.deleted",
        "A proposal went with its author's account. Payload: `table_id`, `reason`.",
    )

    # --- meetings ------------------------------------------------------------------------
    MEETING_CREATED = (
        "meeting.created",
        "A meeting was created (audited when by hand). Payload: `table_id`, `starts_at`.",
    )
    MEETING_UPDATED = "meeting.updated", "A meeting changed. Payload: `table_id`, `fields`."
    MEETING_CANCELLED = (
        "meeting.cancelled",
        "Audited: a meeting was cancelled. Payload: `table_id` and who to notify.",
    )
    MEETING_REINSTATED = (
        "meeting.reinstated",
        "Audited: a cancelled meeting was scheduled again. Payload: `table_id`.",
    )
    MEETING_MINUTES_PUBLISHED = (
        "meeting.minutes_published",
        "Audited: a meeting's minutes were first published. Payload: `table_id`, "
        "`attendees_count`, `proposal_ids`.",
    )
    MEETING_MINUTES_UPDATED = (
        "meeting.minutes_updated",
        "Audited: published minutes changed. Payload as `meeting.minutes_published`.",
    )
    REGISTRATION_CREATED = (
        "registration.created",
        "A person registered for a meeting. Payload: `meeting_id`, `user_id`, `status`.",
    )
    REGISTRATION_CANCELLED = (
        "registration.cancelled",
        "A registration was cancelled. Payload: `meeting_id`, `user_id`, `had_seat`.",
    )
    REGISTRATION_PROMOTED = (
        "registration.promoted",
        "A waitlisted registration got a seat. Payload: `meeting_id`, `user_id`.",
    )
    REGISTRATION_CHECKED_IN = (
        "registration.checked_in",
        "A registered person was checked in. Payload: `meeting_id`, `user_id`.",
    )

    # --- polls ---------------------------------------------------------------------------
    POLL_CREATED = "poll.created", "Audited: a poll was created. Payload: `table_id`, `kind`."
    POLL_BALLOT_CAST = "poll.ballot_cast", "Someone voted in a poll. Payload: `poll_id`."

    # --- comments ----------------------------------------------------------------------
    COMMENT_CREATED = (
        "comment.created",
        "A comment was written. Payload: `target_type`, `target_id`, `parent_id` and its "
        "moderation status.",
    )
    COMMENT_UPDATED = "comment.updated", "A comment was edited. Payload: `fields`, its status."
    COMMENT_DELETED = (
        "comment.deleted",
        "A comment was deleted (or went with its author's account). Payload: "
        "`target_type`, `target_id`.",
    )
    COMMENT_VOTED = "comment.voted", "A vote on a comment changed. Payload: `value`."

    # --- moderation ----------------------------------------------------------------------
    REPORT_CREATED = (
        "report.created",
        "Someone reported content or a person. Payload: `target_type`, `target_id`, `reason`.",
    )
    MODERATION_AUTO_HIDDEN = (
        "moderation.auto_hidden",
        "Audited: reports hid content. Payload: `table_id`, `report_count`, `threshold`.",
    )
    MODERATION_HIDE = "moderation.hide", "Audited: a moderator hid content. Payload: ids."
    MODERATION_UNHIDE = "moderation.unhide", "Audited: a moderator unhid content. Payload: ids."
    MODERATION_APPROVE = (
        "moderation.approve",
        "Audited: a moderator approved pending content. Payload: ids.",
    )
    MODERATION_DISMISS = (
        "moderation.dismiss",
        "Audited: a moderator dismissed the reports. Payload: ids.",
    )
    MODERATION_LOCK = "moderation.lock", "Audited: a moderator locked a thread. Payload: ids."
    MODERATION_UNLOCK = "moderation.unlock", "Audited: a thread was unlocked. Payload: ids."
    SUSPENSION_CREATED = (
        "suspension.created",
        "Audited: a person was suspended in an organization. Payload: `suspension_id`, `ends_at`.",
    )
    SUSPENSION_LIFTED = "suspension.lifted", "Audited: a suspension was lifted. `suspension_id`."

    # --- participatory budgeting ---------------------------------------------------------
    BUDGET_CREATED = "budget.created", "A budgeting process was created. Payload: `budget_id`."
    BUDGET_UPDATED = (
        "budget.updated",
        "A budgeting process changed. Payload: `budget_id`, `fields`.",
    )
    BUDGET_AREA_CREATED = (
        "budget.area_created",
        "An area was added to a budgeting process. Payload: `budget_id`, `area_id`.",
    )
    BUDGET_BALLOT_CAST = (
        "budget.ballot_cast",
        "A secret ballot was cast or replaced (who voted is not recorded). Payload: `budget_id`.",
    )
    BUDGET_BALLOT_WITHDRAWN = (
        "budget.ballot_withdrawn",
        "A secret ballot was withdrawn. Payload: `budget_id`.",
    )
    BUDGET_PAPER_BALLOT_ENTERED = (
        "budget.paper_ballot_entered",
        "Audited: a paper ballot was entered at a polling station. Payload: `budget_id`, "
        "`area_id`.",
    )
    BUDGET_PROJECT_CREATED = (
        "budget_project.created",
        "A project was proposed in a budgeting process. Payload: `budget_id`, project ids.",
    )
    BUDGET_PROJECT_UPDATED = (
        "budget_project.updated",
        "A budget project changed. Payload: `budget_id`, `fields`.",
    )
    BUDGET_PROJECT_EVALUATED = (
        "budget_project.evaluated",
        "Audited: a project's feasibility was evaluated. Payload: `budget_id`, `feasibility`.",
    )

    # --- integrations ----------------------------------------------------------------------
    API_CLIENT_CREATED = (
        "api_client.created",
        "Audited: an API client was created. Payload: `scopes`.",
    )
    API_CLIENT_UPDATED = (
        "api_client.updated",
        "Audited: an API client changed. Payload: `fields`, new `scopes`/`active`.",
    )
    API_CLIENT_DELETED = "api_client.deleted", "Audited: an API client was deleted. Payload: none."
    API_CLIENT_SECRET_ROTATED = (
        "api_client.secret_rotated",
        "Audited: an API client's secret was rotated. Payload: none.",
    )
    WEBHOOK_CREATED = "webhook.created", "Audited: a webhook endpoint was created. Payload: ids."
    WEBHOOK_UPDATED = (
        "webhook.updated",
        "Audited: a webhook endpoint changed. Payload: `fields`.",
    )
    WEBHOOK_DELETED = "webhook.deleted", "Audited: a webhook endpoint was deleted. Payload: ids."
    WEBHOOK_SECRET_ROTATED = (
        "webhook.secret_rotated",
        "Audited: a webhook endpoint's signing secret was rotated. Payload: ids.",
    )
    WEBHOOK_DISABLED = (
        "webhook.disabled",
        "A webhook endpoint was disabled after failed deliveries. Payload: `reason`.",
    )

    # --- live sessions -----------------------------------------------------------------------
    MEETING_LIVE_UPDATED = (
        "meeting.live_updated",
        "A meeting's live state changed. Payload: `live_status`, `current_agenda_item`.",
    )
    QUESTION_CREATED = (
        "question.created",
        "A live question was asked (maybe held as `pending`). Payload: `status`.",
    )
    QUESTION_UPDATED = (
        "question.updated",
        "A live question changed (by its author, a facilitator or moderation). "
        "Payload: `status`, `fields`, `by`.",
    )
    QUESTION_LIKED = (
        "question.liked",
        "A live question was liked. Payload: `status`, `likes_count`.",
    )
    QUESTION_UNLIKED = (
        "question.unliked",
        "A like of a live question was taken back. Payload: `status`, `likes_count`.",
    )
    POLL_OPENED = "poll.opened", "A live poll was opened in its meeting. Payload: `poll_id`."
    POLL_CLOSED = "poll.closed", "A live poll was closed in its meeting. Payload: `poll_id`."

    # --- conversations and opinion maps ------------------------------------------------
    CONVERSATION_CREATED = (
        "conversation.created",
        "A conversation was opened on a table. Payload: `table_id`.",
    )
    CONVERSATION_UPDATED = (
        "conversation.updated",
        "A conversation changed (or was closed). Payload: `fields`.",
    )
    STATEMENT_CREATED = (
        "statement.created",
        "A statement was written in a conversation (maybe held as `pending`). "
        "Payload: `conversation_id`, `status`.",
    )
    CONVERSATION_MAP_COMPUTED = (
        "conversation.map_computed",
        "The worker recomputed a conversation's opinion map. Payload: `groups`, "
        "`participants`, `votes`, `computation_ms` (no identities).",
    )

    # --- Open311 service requests ----------------------------------------------------------
    OPEN311_KEY_ISSUED = (
        "open311_key.issued",
        "Audited: an Open311 api_key was issued. Payload: `key_prefix`.",
    )
    OPEN311_KEY_REVOKED = (
        "open311_key.revoked",
        "Audited: an Open311 api_key was revoked. Payload: `key_prefix`.",
    )
    SERVICE_CREATED = (
        "service.created",
        "Audited: a service was added to the catalogue. Payload: `service_code`, `attributes`.",
    )
    SERVICE_REQUEST_CREATED = (
        "service_request.created",
        "A service request was filed. Payload: `service_code`, `status`.",
    )
    SERVICE_REQUEST_UPDATED = (
        "service_request.updated",
        "Audited: staff changed a service request. Payload: `fields`, `status`.",
    )

    # --- surveys ---------------------------------------------------------------------------
    SURVEY_CREATED = "survey.created", "Audited: a survey was created. Payload: ids."
    SURVEY_UPDATED = "survey.updated", "Audited: a survey changed. Payload: `fields`."
    SURVEY_RESPONDED = (
        "survey.responded",
        "Someone answered a survey (the answers are not in the payload). Payload: ids.",
    )
    SURVEY_ANSWER_HIDDEN = (
        "survey_answer.hidden",
        "Audited: a free-text answer was hidden from the results. Payload: ids.",
    )
    SURVEY_ANSWER_SHOWN = (
        "survey_answer.shown",
        "Audited: a hidden free-text answer was shown again. Payload: ids.",
    )
