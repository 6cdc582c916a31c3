"""A participant's journey written against the Python client that openapi-python-client
generates from `/openapi.json` (package `consulta_client`), with its typed functions only:
no raw requests, no casts. tests/test_openapi_clients.py generates the client, checks this
file with `mypy --strict` against it, and runs `journey` against a real server.

Each call answers the documented model for its status or a `Problem`; `expect` narrows
it to the model the step needs (an undocumented status raises in the client itself).
"""

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from consulta_client import AuthenticatedClient, Client
from consulta_client.api.accounts import register, token, verify_email
from consulta_client.api.comments import create_proposal_comment, list_proposal_comments
from consulta_client.api.organizations import list_organizations
from consulta_client.api.plans import list_nodes
from consulta_client.api.proposals import (
    create_proposal,
    list_proposals,
    similar_to_draft,
    support_proposal,
)
from consulta_client.api.tables import create_membership, list_tables
from consulta_client.models import (
    Alignment,
    CommentCreate,
    CommentPage,
    CommentPublic,
    Me,
    MembershipPublic,
    MembershipStatus,
    NodeItemPage,
    OrganizationPage,
    Problem,
    ProposalCreate,
    ProposalDraft,
    ProposalPage,
    ProposalPublic,
    SimilarCheck,
    SupportStatus,
    TablePage,
    TokenRequest,
    TokenResponse,
    UserRegister,
    VerifyEmailRequest,
)

T = TypeVar("T")


def expect(answer: object, model: type[T]) -> T:
    if isinstance(answer, Problem):
        raise AssertionError(f"{answer.status} {answer.code}: {answer.detail}")
    assert isinstance(answer, model), answer
    return answer


def journey(
    base_url: str, org_slug: str, email: str, password: str, mailed_token: Callable[[str], str]
) -> dict[str, object]:
    """Register, verify, sign in, find a table, join it, propose, support, comment."""
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    me = expect(
        register.sync(
            client=anonymous,
            body=UserRegister(email=email, password=password, display_name="Lucia Bianchi"),
        ),
        Me,
    )
    verify_email.sync(client=anonymous, body=VerifyEmailRequest(token=mailed_token(email)))
    # openapi-python-client asks an `AuthenticatedClient` of every operation whose
    # security is not empty, optional (`[{}, ...]`) included: the token endpoint's
    # HTTP Basic is optional, so sign in with a client whose Authorization is empty.
    signing_in = AuthenticatedClient(base_url=base_url, token="", prefix="")
    signed_in = expect(
        token.sync(
            client=signing_in,
            body=TokenRequest(grant_type="password", username=email, password=password),
        ),
        TokenResponse,
    )
    assert signed_in.token_type == "bearer"
    client = AuthenticatedClient(
        base_url=base_url, token=signed_in.access_token, raise_on_unexpected_status=True
    )

    organizations = expect(list_organizations.sync(client=client, limit=100), OrganizationPage)
    assert org_slug in [org.slug for org in organizations.items]
    tables = expect(list_tables.sync(org_slug, client=client), TablePage)
    table = tables.items[0]
    assert table.plan_id is not None
    joined = expect(create_membership.sync(table.id, client=client), MembershipPublic)
    again = expect(create_membership.sync(table.id, client=client), MembershipPublic)  # 200
    assert joined.status == MembershipStatus.ACTIVE and again.id == joined.id

    nodes = expect(list_nodes.sync(table.plan_id, client=client), NodeItemPage)
    node_ids: list[UUID] = [nodes.items[0].id]
    draft = ProposalDraft(title="Biblioteche aperte la sera", body="Aprire le biblioteche.")
    similar = expect(similar_to_draft.sync(table.id, client=client, body=draft), SimilarCheck)
    mine = expect(
        create_proposal.sync(
            table.id,
            client=client,
            body=ProposalCreate(
                title="Più alberi nei cortili delle scuole",
                body="Piantare alberi nei cortili di ogni scuola primaria del quartiere.",
                node_ids=node_ids,
            ),
        ),
        ProposalPublic,
    )

    proposals = expect(list_proposals.sync(table.id, client=client), ProposalPage)
    other = next(p for p in proposals.items if p.id != mine.id)
    support = expect(support_proposal.sync(other.id, client=client), SupportStatus)
    repeated = expect(support_proposal.sync(other.id, client=client), SupportStatus)  # 200
    assert support.supported_by_me and repeated.supported_by_me

    comment = expect(
        create_proposal_comment.sync(
            other.id,
            client=client,
            body=CommentCreate(
                body="D'accordo: serve anche la sera.", alignment=Alignment.IN_FAVOR
            ),
        ),
        CommentPublic,
    )
    comments = expect(list_proposal_comments.sync(other.id, client=client), CommentPage)
    # Anonymously (the table is public): the same proposals.
    public = expect(list_proposals.sync(table.id, client=signing_in), ProposalPage)
    return {
        "me": me.id,
        "similar": [s.id for s in similar.similar],
        "proposal": mine.id,
        "listed": [p.id for p in proposals.items],
        "supported": other.id,
        "supports_count": repeated.supports_count,
        "comment": comment.id,
        "comments": [c.id for c in comments.items],
        "next_cursor": proposals.next_cursor,
        "public": [p.id for p in public.items],
    }
