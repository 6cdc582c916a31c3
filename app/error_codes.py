"""Every `code` the API can answer, in one place.

A problem's `code` (and the `code` of each entry of its `errors`) is meant for machines:
it is stable, and it is always a member of `ErrorCode`. Raise sites name the member
(`Conflict("…", code=ErrorCode.SLUG_TAKEN)`), never a string; `tests/test_error_codes.py`
fails on a string code anywhere in `app/`. The OpenAPI description lists this catalogue
(`app/openapi.py`). A new code: add a member here, with a one-line meaning, and its Italian title in
`app/error_titles_it.py` (`Accept-Language: it`; a test checks every member has one).

Field errors (`errors[].code`) share one vocabulary: the handler of request validation
translates pydantic's error types into it (`field_code`), and hand-raised field errors
(`app/services/validation.py`) use the same members.
"""

from app.catalogue import Catalogue


class ErrorCode(Catalogue):
    # --- generic, one per HTTP status -------------------------------------------------
    BAD_REQUEST = "bad_request", "The request is malformed."
    UNAUTHORIZED = "unauthorized", "No valid access token: sign in."
    FORBIDDEN = "forbidden", "You may see this but not do this."
    NOT_FOUND = "not_found", "No such resource, or one you may not see."
    METHOD_NOT_ALLOWED = "method_not_allowed", "The resource does not accept this method."
    NOT_ACCEPTABLE = "not_acceptable", "No representation matches the `Accept` header."
    CONFLICT = "conflict", "The request conflicts with the resource's current state."
    PRECONDITION_FAILED = "precondition_failed", "An `If-Match` precondition failed."
    PAYLOAD_TOO_LARGE = "payload_too_large", "The request body is too large."
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", "The body's content type is not accepted."
    VALIDATION_ERROR = "validation_error", "Some fields are invalid; `errors` says which and why."
    PRECONDITION_REQUIRED = "precondition_required", "This change needs an `If-Match` header."
    RATE_LIMITED = "rate_limited", "Too many requests; wait for `Retry-After` seconds."
    HTTP_ERROR = "http_error", "Another HTTP error."
    INTERNAL_ERROR = "internal_error", "Our fault; the request id identifies it in our logs."
    SERVICE_BUSY = "service_busy", "No database connection came free in time; retry shortly."

    # --- field errors: one code per kind of mistake (`errors[].code`) ----------------
    REQUIRED = "required", "A required field is missing."
    NULL_NOT_ALLOWED = "null_not_allowed", "The field was sent as null but cannot be cleared."
    INVALID_TYPE = "invalid_type", "The value has the wrong type (a number for a string…)."
    INVALID_FORMAT = "invalid_format", "The value does not parse (a UUID, a date, a pattern…)."
    INVALID_CHOICE = "invalid_choice", "The value is not one of the allowed values."
    INVALID_VALUE = "invalid_value", "The value is not acceptable; `msg` says why."
    TOO_SHORT = "too_short", "Text or list shorter than allowed."
    TOO_LONG = "too_long", "Text or list longer than allowed."
    BLANK = "blank", "Text that is empty or only whitespace."
    OUT_OF_RANGE = "out_of_range", "A number outside the allowed range."
    UNKNOWN_FIELD = "unknown_field", "A field the resource does not have."
    INVALID_JSON = "invalid_json", "The body is not valid JSON."
    INVALID_CHARACTER = "invalid_character", "Text contains a NUL character (U+0000)."
    INVALID_CURSOR = "invalid_cursor", "The pagination cursor is not one this list gave out."
    INVALID_QUERY = "invalid_query", "Query parameters that cannot be used together."
    INVALID_COMBINATION = "invalid_combination", "This parameter cannot be combined with another."
    MISSING_DEFAULT_LOCALE = (
        "missing_default_locale",
        "Translatable text lacks the organization's default locale.",
    )
    ENDS_BEFORE_START = "ends_before_start", "A period that ends before it starts."

    # --- accounts and sign-in ----------------------------------------------------------
    EMAIL_TAKEN = "email_taken", "An account with this email exists."
    WEAK_PASSWORD = "weak_password", "The password is too weak."
    WRONG_PASSWORD = "wrong_password", "The password is wrong."
    WRONG_CURRENT_PASSWORD = "wrong_current_password", "The current password is wrong."
    INVALID_TOKEN = "invalid_token", "The token is invalid or expired."
    INVALID_GRANT = "invalid_grant", "OAuth: wrong credentials or refresh token."
    INVALID_REQUEST = "invalid_request", "OAuth: the token request is malformed."
    UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type", "OAuth: this grant type is not supported."
    TOO_MANY_ATTEMPTS = "too_many_attempts", "Too many failed attempts; wait and retry."
    TOO_MANY_WRITES = "too_many_writes", "Too many writes of this kind; wait and retry."
    EMAIL_NOT_VERIFIED = "email_not_verified", "Verify your email address first."
    NOT_PLATFORM_ADMIN = "not_platform_admin", "Only platform administrators may do this."
    INVALID_BIRTH_DATE = "invalid_birth_date", "A birth date in the future or too far past."
    UNKNOWN_USER = "unknown_user", "No such account."
    UNKNOWN_MUNICIPALITY = "unknown_municipality", "No such municipality in this organization."

    # --- organizations and roles -------------------------------------------------------
    SLUG_TAKEN = "slug_taken", "The slug is used already."
    MUNICIPALITY_EXISTS = "municipality_exists", "The municipality exists already."
    ORGANIZATION_EXISTS = "organization_exists", "The organization exists already."
    ROLE_EXISTS = "role_exists", "The person has this role already."
    LAST_ADMIN = "last_admin", "The organization's last administrator cannot go."

    # --- tables and their members --------------------------------------------------------
    TABLE_CLOSED = "table_closed", "The table is not open."
    TABLE_ARCHIVED = "table_archived", "The table is archived."
    TABLE_FULL = "table_full", "The table has as many members as it may."
    MAX_MEMBERS_BELOW_MEMBERS = "max_members_below_members", "Fewer places than members."
    PLAN_IN_USE = "plan_in_use", "A table's plan cannot change once it is used."
    UNKNOWN_PLAN = "unknown_plan", "No such plan in this organization."
    UNKNOWN_TABLE = "unknown_table", "No such table in this organization."
    NO_PLAN = "no_plan", "The table has no plan."
    NOT_A_MEMBER = "not_a_member", "Only the table's members may do this."
    NOT_ELIGIBLE = "not_eligible", "You do not meet the table's conditions (`errors`)."
    BIRTH_DATE_REQUIRED = "birth_date_required", "The table needs your birth date."
    TOO_YOUNG = "too_young", "Below the table's minimum age."
    TOO_OLD = "too_old", "Above the table's maximum age."
    MUNICIPALITY_REQUIRED = "municipality_required", "The table needs your municipality."
    MUNICIPALITY_NOT_ELIGIBLE = "municipality_not_eligible", "Your municipality is not eligible."
    ALREADY_MEMBER = "already_member", "You are a member already."
    INVITATION_REQUIRED = "invitation_required", "The table admits members by invitation."
    SORTITION_APPLY_INSTEAD = (
        "sortition_apply_instead",
        "The table draws its members by lot: apply under /sortition/applications.",
    )
    SORTITION_NOT_CONFIGURED = "sortition_not_configured", "The table has no sortition set up."
    SORTITION_ALREADY_DRAWN = "sortition_already_drawn", "The table's members were drawn already."
    SORTITION_WINDOW_CLOSED = "sortition_window_closed", "Applications are not open now."
    SORTITION_WINDOW_OPEN = "sortition_window_open", "Applications are still open: draw later."
    SORTITION_SEED_REQUIRED = "sortition_seed_required", "Publish the seed before the draw."
    SORTITION_ALGORITHM_UNAVAILABLE = (
        "sortition_algorithm_unavailable",
        "The algorithm needs a solver that is not installed (leximin: Gurobi).",
    )
    SORTITION_INFEASIBLE = (
        "sortition_infeasible",
        "No panel can meet the quotas; `errors` says which quota and by how much.",
    )
    SORTITION_INVALID_QUOTAS = "sortition_invalid_quotas", "The features or quotas do not add up."
    SORTITION_NO_MATCHING_VALUE = (
        "sortition_no_matching_value",
        "Your profile matches none of the values of a feature taken from it.",
    )
    ALREADY_APPLIED = "already_applied", "You have applied to this table already."
    DRAW_IN_PROGRESS = "draw_in_progress", "A draw of this table is queued or running."
    NOT_ON_PANEL = "not_on_panel", "The person is not on the drawn panel."
    NO_REPLACEMENT = "no_replacement", "Nobody on the reserve list keeps the quotas."
    INVITATION_PENDING = "invitation_pending", "An invitation waits for an answer."
    MEMBERSHIP_REJECTED = "membership_rejected", "The membership was rejected."
    NOT_ACTIVE = "not_active", "The membership is not active."
    FACILITATOR_APPOINTED_BY_ORGANIZATION = (
        "facilitator_appointed_by_organization",
        "The organization appointed this facilitator; only it may remove them.",
    )
    GUARDIAN_CONSENT_REQUIRED = "guardian_consent_required", "A guardian's consent is needed."
    CONSENT_NOT_NEEDED = "consent_not_needed", "No guardian's consent is needed here."
    CONSENT_ALREADY_RECORDED = "consent_already_recorded", "The consent is recorded already."
    INVALID_CONSENT_DATE = "invalid_consent_date", "A consent date in the future."

    # --- plans and monitoring ----------------------------------------------------------
    NODE_ARCHIVED = "node_archived", "The plan node is archived."
    UNKNOWN_NODE = "unknown_node", "No such node in this plan."
    UNKNOWN_PARENT = "unknown_parent", "No such parent node here."
    TARGET_NOT_ABOVE_BASELINE = "target_not_above_baseline", "An increase target not above base."
    TARGET_NOT_BELOW_BASELINE = "target_not_below_baseline", "A decrease target not below base."
    TARGET_BEFORE_BASELINE = "target_before_baseline", "A target date before the baseline's."
    MEASURED_IN_FUTURE = "measured_in_future", "A measurement dated in the future."

    # --- imports -------------------------------------------------------------------------
    INVALID_PLAN_DOCUMENT = "invalid_plan_document", "The import document is invalid (`errors`)."
    INVALID_DATE = "invalid_date", "Not a date written YYYY-MM-DD."
    INVALID_DATETIME = "invalid_datetime", "Not a date-time with a time zone."
    INVALID_LENGTH = "invalid_length", "Text outside the allowed length."
    INVALID_LOCALE = "invalid_locale", "Not a locale code such as it or en."
    LOCALE_MISMATCH = "locale_mismatch", "The locale disagrees with the organization's."
    INVALID_CODE = "invalid_code", "A node code of the wrong shape."
    DUPLICATE_CODE = "duplicate_code", "Two nodes with the same code."
    INVALID_KIND = "invalid_kind", "A node kind of the wrong length."
    TOO_DEEP = "too_deep", "Nodes nested deeper than allowed."
    TOO_MANY_NODES = "too_many_nodes", "More nodes than a plan may have."
    INVALID_SLUG = "invalid_slug", "A slug of the wrong shape."
    DUPLICATE_SLUG = "duplicate_slug", "Two tables with the same slug."
    DUPLICATE_MEETING = "duplicate_meeting", "Two meetings with the same key."
    TABLE_ON_OTHER_PLAN = "table_on_other_plan", "The table is on another plan."

    # --- proposals and supports ----------------------------------------------------------
    PROPOSALS_CLOSED = "proposals_closed", "The table takes no new proposals."
    PROPOSAL_WITHDRAWN = "proposal_withdrawn", "The proposal was withdrawn."
    PROPOSAL_ANSWERED = "proposal_answered", "The proposal has an answer already."
    PROPOSAL_NOT_PUBLISHED = "proposal_not_published", "The proposal is not published."
    PROPOSAL_REJECTED = "proposal_rejected", "The proposal was rejected."
    PROPOSAL_NOT_VISIBLE = "proposal_not_visible", "The proposal is hidden or pending review."
    EDIT_WINDOW_CLOSED = "edit_window_closed", "The time to edit has passed."
    ANSWER_REQUIRED = "answer_required", "This answer state needs an answer text."
    SUPPORTS_BLOCKED = "supports_blocked", "The table takes no supports now."
    SUPPORT_LIMIT_REACHED = "support_limit_reached", "You support as many proposals as allowed."
    UNKNOWN_COAUTHOR = "unknown_coauthor", "A co-author who may not co-author here."
    SORT_UNAVAILABLE = "sort_unavailable", "This sort needs a search text."

    # --- meetings and registrations ----------------------------------------------------
    INVALID_TIME_RANGE = "invalid_time_range", "A meeting that ends before it starts."
    INVALID_REGISTRATION_WINDOW = "invalid_registration_window", "A registration window amiss."
    INVALID_STATUS_CHANGE = "invalid_status_change", "The status cannot change this way."
    CAPACITY_BELOW_REGISTRATIONS = "capacity_below_registrations", "Fewer seats than registered."
    MEETING_CANCELLED = "meeting_cancelled", "The meeting was cancelled."
    MEETING_NOT_SCHEDULED = "meeting_not_scheduled", "The meeting is not scheduled."
    MEETING_NOT_STARTED = "meeting_not_started", "The meeting has not started."
    MEMBERS_ONLY = "members_only", "Only the table's members may register."
    REGISTRATION_NOT_OPEN = "registration_not_open", "Registration has not opened."
    REGISTRATION_CLOSED = "registration_closed", "Registration has closed."
    REGISTRATION_CANCELLED = "registration_cancelled", "The registration was cancelled."
    ALREADY_ATTENDED = "already_attended", "Attendance is recorded already."
    WAITLISTED = "waitlisted", "The registration is on the waiting list."
    UNKNOWN_CHECK_IN_CODE = "unknown_check_in_code", "No registration with this check-in code."
    UNKNOWN_PROPOSAL = "unknown_proposal", "No such proposal on this table."

    # --- polls ---------------------------------------------------------------------------
    POLL_NOT_OPEN = "poll_not_open", "The poll is not open."
    ALREADY_VOTED = "already_voted", "You voted in this poll already."
    INVALID_WINDOW = "invalid_window", "A poll that closes before it opens."
    CLOSES_IN_PAST = "closes_in_past", "A poll that closes in the past."
    MAX_CHOICES_SINGLE = "max_choices_single", "A single-choice poll allows one choice."
    MAX_CHOICES_TOO_HIGH = "max_choices_too_high", "More choices allowed than options."
    DUPLICATE_OPTIONS = "duplicate_options", "The same option twice."
    UNKNOWN_OPTION = "unknown_option", "No such option in this poll."
    SINGLE_CHOICE = "single_choice", "This poll takes one choice."
    TOO_MANY_CHOICES = "too_many_choices", "More choices than the poll allows."

    # --- comments --------------------------------------------------------------------------
    COMMENTS_CLOSED = "comments_closed", "The target takes no comments."
    COMMENT_DELETED = "comment_deleted", "The comment was deleted."
    COMMENT_NOT_VISIBLE = "comment_not_visible", "The comment is hidden or pending review."
    INVALID_PARENT = "invalid_parent", "The parent comment is not on this target."
    MAX_DEPTH = "max_depth", "Replies nest no deeper."
    OWN_COMMENT = "own_comment", "You cannot vote on your own comment."
    THREAD_LOCKED = "thread_locked", "The moderators locked this discussion."

    # --- moderation ----------------------------------------------------------------------
    SUSPENDED = "suspended", "You are suspended in this organization (`suspended_until`)."
    OWN_CONTENT = "own_content", "You cannot report your own content."
    ALREADY_REPORTED = "already_reported", "You reported this already."
    ORGANIZATION_REQUIRED = "organization_required", "Name the organization (`organization`)."
    ORGANIZATION_NOT_APPLICABLE = "organization_not_applicable", "Only reports of people do."
    ACTION_NOT_APPLICABLE = "action_not_applicable", "This action does not apply to this target."
    NOT_A_THREAD_ROOT = "not_a_thread_root", "Only a thread's root comment can be locked."
    ALREADY_HIDDEN = "already_hidden", "The content is hidden already."
    NOT_HIDDEN = "not_hidden", "The content is not hidden."
    NOT_PENDING = "not_pending", "The content is not pending review."
    HIDDEN_BY_REPORTS = "hidden_by_reports", "Hidden by reports: dismiss them or unhide."
    NOTHING_TO_DISMISS = "nothing_to_dismiss", "No open reports to dismiss."
    ALREADY_LOCKED = "already_locked", "The thread is locked already."
    NOT_LOCKED = "not_locked", "The thread is not locked."
    ALREADY_SUSPENDED = "already_suspended", "The person is suspended already."
    CANNOT_SUSPEND_SELF = "cannot_suspend_self", "You cannot suspend yourself."
    CANNOT_SUSPEND_ADMIN = "cannot_suspend_admin", "Administrators cannot be suspended."
    CANNOT_SUSPEND_FACILITATOR = "cannot_suspend_facilitator", "A facilitator of the table."
    CANNOT_SUSPEND_STAFF = "cannot_suspend_staff", "Staff of the organization."
    ENDS_AT_IN_PAST = "ends_at_in_past", "A suspension that ends in the past."
    TIMEZONE_REQUIRED = "timezone_required", "A date-time needs a time zone."
    INVALID_WORD = "invalid_word", "A filter word that is empty or too long."

    # --- editable documents and idempotency --------------------------------------------
    STALE_ETAG = "stale_etag", "The resource changed since you read it (`If-Match`)."
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key", "An unusable `Idempotency-Key`."
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused", "The key was used for another request."
    IDEMPOTENCY_REQUEST_IN_PROGRESS = (
        "idempotency_request_in_progress",
        "A request with this key is still running.",
    )

    # --- hardening: outages and mail limits ---------------------------------------------
    DATABASE_UNAVAILABLE = (
        "database_unavailable",
        "The database cannot be reached right now; retry after `Retry-After` seconds.",
    )
    DATABASE_TIMEOUT = (
        "database_timeout",
        "The request's database work ran past its time limit and was cancelled; retry later.",
    )
    TOO_MANY_REGISTRATIONS = (
        "too_many_registrations",
        "Too many registrations from your network in a short time; try again later.",
    )

    # --- participatory budgeting ---------------------------------------------------------
    VOTING_STARTED = "voting_started", "Voting has started: this can no longer change."
    MUNICIPALITY_IN_OTHER_AREA = (
        "municipality_in_other_area",
        "A municipality belongs to one area of a process only.",
    )
    TOO_MANY_AREAS = "too_many_areas", "A process has too many areas already."
    NOT_IN_VOTING_PHASE = "not_in_voting_phase", "The process is not in its voting phase."
    RESIDENCE_REQUIRED = (
        "residence_required",
        "Add your municipality of residence to your profile to vote.",
    )
    NOT_RESIDENT = "not_resident", "Only residents of the process's municipalities may vote."
    DUPLICATE_PROJECTS = "duplicate_projects", "A project was chosen more than once."
    UNKNOWN_PROJECT = "unknown_project", "Not a project of this process."
    UNFEASIBLE_PROJECT = "unfeasible_project", "The project is not on the ballot (not feasible)."
    OTHER_AREA = "other_area", "The projects (or the voter) belong to another area."
    TOO_MANY_PROJECTS = "too_many_projects", "More projects chosen than the process allows."
    OVER_BUDGET = "over_budget", "The chosen projects cost more than the area's amount."
    UNDER_MIN_SPEND = "under_min_spend", "The chosen projects spend less than the minimum."
    VOTED_ON_PAPER = "voted_on_paper", "You voted on paper: the ballot cannot change or be shown."
    BALLOT_UNREACHABLE = (
        "ballot_unreachable",
        "The ballot can no longer be found (the service's key changed).",
    )
    NO_BALLOT = "no_ballot", "You have no ballot in this process."
    UNKNOWN_AREA = "unknown_area", "Not an area of this process."
    RESULTS_NOT_PUBLISHED = "results_not_published", "The results are not published yet."
    NOT_FUNDED = "not_funded", "Only funded projects are implemented."

    # --- integrations ----------------------------------------------------------------------
    INSUFFICIENT_SCOPE = (
        "insufficient_scope",
        "RFC 6750: the token is valid but lacks the scope the endpoint needs.",
    )
    INVALID_CLIENT = "invalid_client", "OAuth: unknown client or wrong secret (401)."
    INVALID_SCOPE = "invalid_scope", "OAuth: a requested scope is unknown or not granted."
    CURSOR_EXPIRED = (
        "cursor_expired",
        "The change feed no longer holds events this old; start again from a snapshot.",
    )
    INVALID_TYPES = "invalid_types", "The `types` filter names no event type."
    INVALID_EVENT_TYPES = "invalid_event_types", "Not event types or patterns (e.g. `proposal.*`)."
    WEBHOOK_TARGET_REFUSED = (
        "webhook_target_refused",
        "The webhook URL is refused (not https, or a private or local address).",
    )

    # --- live sessions -----------------------------------------------------------------------
    LIVE_UNAVAILABLE = "live_unavailable", "Live streams are not available right now; retry."
    NOT_FACILITATOR = "not_facilitator", "Only the table's facilitators may do this."
    LIVE_SESSION_ENDED = "live_session_ended", "The meeting's live session has ended."
    POLL_CLOSED = "poll_closed", "The poll has closed."
    QUESTION_NOT_VISIBLE = "question_not_visible", "Only shown questions can be liked."
    UNKNOWN_AGENDA_ITEM = "unknown_agenda_item", "No agenda item with this index."
    CONVERSATION_CLOSED = (
        "conversation_closed",
        "The conversation is closed to new votes and statements.",
    )
    STATEMENTS_BY_FACILITATORS = (
        "statements_by_facilitators",
        "Only the table's facilitators add statements to this conversation.",
    )
    STATEMENT_NOT_VISIBLE = "statement_not_visible", "Only visible statements can be voted on."
    UNKNOWN_MEETING = "unknown_meeting", "Not a meeting of this poll's table."

    # --- Open311 service requests (its own numeric codes are Open311's, not these) --------
    INVALID_API_KEY = "invalid_api_key", "The Open311 api_key is invalid or revoked."
    INVALID_ATTRIBUTES = "invalid_attributes", "The service's attributes are invalid."
    SERVICE_CODE_TAKEN = (
        "service_code_taken",
        "The organization already has a service with this code.",
    )
    JURISDICTION_REQUIRED = "jurisdiction_required", "Open311: `jurisdiction_id` is required."
    API_KEY_REQUIRED = (
        "api_key_required",
        "Open311: give an api_key, or sign in and send your bearer token.",
    )
    SERVICE_CODE_REQUIRED = "service_code_required", "Open311: `service_code` is required."
    UNKNOWN_ASSIGNEE = "unknown_assignee", "The assignee is not staff of the organization."
    VALUES_REQUIRED = "values_required", "A list attribute needs its values."
    VALUES_NOT_ALLOWED = "values_not_allowed", "Values are for list attributes only."
    DUPLICATE_VALUE = "duplicate_value", "Two values of an attribute have the same key."

    # --- surveys ---------------------------------------------------------------------------
    NOT_SURVEY_STAFF = (
        "not_survey_staff",
        "Only the survey's organization admins and facilitators may do this.",
    )
    INVALID_QUESTIONS = "invalid_questions", "The questionnaire has problems; `errors` lists them."
    SURVEY_NOT_OPEN = "survey_not_open", "The survey is not open (not yet, or no longer)."
    INVALID_ANSWERS = "invalid_answers", "Some answers are invalid; `errors` lists them."
    ALREADY_RESPONDED = "already_responded", "You have already answered this survey."
    QUESTIONS_CHANGED = "questions_changed", "The questions changed meanwhile; reload the survey."
    RESULTS_NOT_VISIBLE = "results_not_visible", "The survey's results are not visible (yet)."
    MEMBERS_NEED_TABLE = "members_need_table", "A members-only survey needs a table."
    QUESTIONS_FROZEN = "questions_frozen", "The questions are frozen: the survey has responses."
    UNKNOWN_SCALE_VALUE = "unknown_scale_value", "Labels are keyed by values of the scale."
    DUPLICATE_ANSWER = "duplicate_answer", "A question was answered twice."
    DUPLICATE_ROW = "duplicate_row", "A matrix row was answered more than once."
    EMPTY_TEXT = "empty_text", "A text answer is empty."
    FIELD_NOT_ALLOWED = "field_not_allowed", "The field is not used by this kind of question."
    INVALID_RANGE = "invalid_range", "The range's max is not greater than its min."
    NO_CHOICE = "no_choice", "No option was chosen."
    NO_ROWS = "no_rows", "A matrix answer answers no row."
    NPS_RANGE = "nps_range", "NPS questions always run 0-10."
    RANGE_TOO_WIDE = "range_too_wide", "The scale spans too many steps."
    REQUIRED_QUESTION = "required_question", "A required question was not answered."
    ROWS_MISSING = "rows_missing", "A matrix answer leaves rows unanswered."
    TEXT_TOO_LONG = "text_too_long", "A text answer is too long."
    TOO_FEW_OPTIONS = "too_few_options", "A choice question has too few options."
    TOO_FEW_ROWS = "too_few_rows", "A matrix needs at least one row."
    UNKNOWN_QUESTION = "unknown_question", "Not a question of this survey."
    UNKNOWN_ROW = "unknown_row", "Not a row of the matrix."
    VALUE_OUT_OF_RANGE = "value_out_of_range", "The value is outside the question's range."
    WRONG_ANSWER_SHAPE = (
        "wrong_answer_shape",
        "The answer does not fit the question's kind.",
    )


# pydantic's error types -> the one vocabulary of field errors.
_PYDANTIC_CODES: dict[str, ErrorCode] = {
    "missing": ErrorCode.REQUIRED,
    "extra_forbidden": ErrorCode.UNKNOWN_FIELD,
    "string_too_short": ErrorCode.TOO_SHORT,
    "too_short": ErrorCode.TOO_SHORT,
    "string_too_long": ErrorCode.TOO_LONG,
    "too_long": ErrorCode.TOO_LONG,
    "literal_error": ErrorCode.INVALID_CHOICE,
    "enum": ErrorCode.INVALID_CHOICE,
    "json_invalid": ErrorCode.INVALID_JSON,
    "string_pattern_mismatch": ErrorCode.INVALID_FORMAT,
    "greater_than": ErrorCode.OUT_OF_RANGE,
    "greater_than_equal": ErrorCode.OUT_OF_RANGE,
    "less_than": ErrorCode.OUT_OF_RANGE,
    "less_than_equal": ErrorCode.OUT_OF_RANGE,
    "multiple_of": ErrorCode.OUT_OF_RANGE,
    "finite_number": ErrorCode.OUT_OF_RANGE,
    "value_error": ErrorCode.INVALID_VALUE,
    "assertion_error": ErrorCode.INVALID_VALUE,
    "timezone_aware": ErrorCode.TIMEZONE_REQUIRED,
}


def field_code(pydantic_type: str) -> ErrorCode:
    """The field-error code for one of pydantic's error types: `missing` -> `required`,
    `string_too_long` -> `too_long`, `int_type` -> `invalid_type`, `uuid_parsing` ->
    `invalid_format`…; anything else is `invalid_value`."""
    if pydantic_type in _PYDANTIC_CODES:
        return _PYDANTIC_CODES[pydantic_type]
    if pydantic_type.endswith("_type") or pydantic_type == "is_instance_of":
        return ErrorCode.INVALID_TYPE
    if pydantic_type.endswith(("_parsing", "_syntax", "_pattern_mismatch")) or pydantic_type in {
        "uuid_version",
        "url_scheme",
        "date_from_datetime_inexact",
        "timezone_naive",
    }:
        return ErrorCode.INVALID_FORMAT
    if pydantic_type.endswith(("_too_long", "_too_big")):
        return ErrorCode.TOO_LONG
    if pydantic_type.endswith(("_too_short", "_too_small")):
        return ErrorCode.TOO_SHORT
    if pydantic_type.endswith(("_past", "_future")) or "_digits" in pydantic_type:
        return ErrorCode.OUT_OF_RANGE
    return ErrorCode.INVALID_VALUE
