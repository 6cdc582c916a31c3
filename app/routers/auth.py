"""Accounts: /v1/auth/* and /v1/me."""

from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, Form, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from app.db import SessionDep
from app.deps import ClientAddress, CurrentUser, SignIn
from app.error_codes import ErrorCode
from app.errors import AppError
from app.models.accounts import (
    LogoutRequest,
    Me,
    PasswordResetConfirm,
    PasswordResetRequest,
    ResendVerificationRequest,
    TokenResponse,
    UserRegister,
    UserUpdate,
    VerifyEmailRequest,
)
from app.models.integrations import ClientTokenResponse
from app.models.privacy import AccountDelete, PersonalDataExport
from app.services.accounts import passwords, profile, registration, sign_in
from app.services.integrations import api_clients
from app.services.privacy import erasure
from app.services.privacy import export as data_export

router = APIRouter(prefix="/v1", tags=["accounts"])
# Service clients may authenticate with HTTP Basic (RFC 6749 §2.3.1).
_client_basic = HTTPBasic(auto_error=False, description="Service clients: client_id and secret.")


class UnsupportedGrant(AppError):
    code = ErrorCode.UNSUPPORTED_GRANT_TYPE
    title = "Unsupported grant type"


class InvalidTokenRequest(AppError):
    code = ErrorCode.INVALID_REQUEST
    title = "Invalid token request"


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=Me,
    summary="Create an account (public); sends a verification email",
)
async def register(session: SessionDep, body: UserRegister, address: ClientAddress) -> Me:
    user = await registration.register(session, body, address)
    return await profile.get_me(session, user)


@router.post(
    "/auth/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm an email address with the token from the email (public)",
)
async def verify_email(session: SessionDep, body: VerifyEmailRequest) -> Response:
    await registration.verify_email(session, body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send the verification email again (public; always 202)",
)
async def resend_verification(
    session: SessionDep, body: ResendVerificationRequest, address: ClientAddress
) -> Response:
    await registration.resend_verification(session, str(body.email), address)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/auth/token",
    response_model=TokenResponse | ClientTokenResponse,
    summary="OAuth2 token endpoint (public): password, refresh_token and client_credentials grants",
    description="Form-encoded. `grant_type=password` with `username` (the email) and "
    "`password`, or `grant_type=refresh_token` with `refresh_token`. Refresh tokens rotate "
    "on every use; presenting a rotated one ends that sign-in (its refresh tokens and the "
    "access tokens issued along them). Failed sign-ins are throttled per account and per "
    "address (429 with Retry-After).\n\nErrors are problem+json with OAuth2's `error` "
    "field added: a wrong email or password is 400 `invalid_grant` (the same answer for "
    "an unknown email); an unknown, expired, revoked or replayed refresh token is 401 "
    "`invalid_grant` (sign in again); a missing field is 400 `invalid_request`; another "
    "grant type is 400 `unsupported_grant_type`.\n\nService clients: "
    "`grant_type=client_credentials` with `client_id` and `client_secret` as form fields or "
    "HTTP Basic, optional `scope` (a space-separated subset of the client's scopes; 400 "
    "`invalid_scope` otherwise) → an access token for the client's organization, no refresh "
    "token. Wrong credentials are 401 `invalid_client` (throttled like failed sign-ins).",
)
async def token(
    session: SessionDep,
    address: ClientAddress,
    grant_type: Annotated[str, Form(max_length=64)],
    username: Annotated[str | None, Form(max_length=1024)] = None,
    password: Annotated[str | None, Form(max_length=1024)] = None,
    refresh_token: Annotated[str | None, Form(max_length=256)] = None,
    scope: Annotated[str | None, Form(max_length=1024)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
    basic: Annotated[HTTPBasicCredentials | None, Depends(_client_basic)] = None,
) -> TokenResponse | ClientTokenResponse:
    if grant_type == "password":
        if not username or password is None:
            raise InvalidTokenRequest(
                "The password grant needs username and password.",
                extra={"error": "invalid_request"},
            )
        return await sign_in.login_with_password(session, username.strip(), password, address)
    if grant_type == "refresh_token":
        if not refresh_token:
            raise InvalidTokenRequest(
                "The refresh_token grant needs refresh_token.", extra={"error": "invalid_request"}
            )
        return await sign_in.refresh_tokens(session, refresh_token)
    if grant_type == "client_credentials":
        if basic is not None:  # RFC 6749 §2.3.1: both parts are form-urlencoded
            client_id, client_secret = unquote_plus(basic.username), unquote_plus(basic.password)
        if not client_id or not client_secret:
            raise api_clients.InvalidClient("Send client_id and client_secret.")
        return await api_clients.client_credentials(
            session, client_id, client_secret, scope, address
        )
    raise UnsupportedGrant(
        f"grant_type must be password, refresh_token or client_credentials, not {grant_type!r}.",
        extra={"error": "unsupported_grant_type"},
    )


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out: end the sign-in a refresh token belongs to (public: holding it suffices)",
    description="Revokes the refresh token's family; the access tokens issued along it "
    "stop working at once. The person's other sign-ins (other devices) carry on. Always 204.",
)
async def logout(session: SessionDep, body: LogoutRequest) -> Response:
    await sign_in.logout(session, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Email a password reset token (public; always 202)",
)
async def password_reset(
    session: SessionDep, body: PasswordResetRequest, address: ClientAddress
) -> Response:
    await passwords.request_password_reset(session, str(body.email), address)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with a reset token (public); signs out everywhere",
)
async def password_reset_confirm(session: SessionDep, body: PasswordResetConfirm) -> Response:
    await passwords.confirm_password_reset(session, body.token, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=Me, summary="The caller's own profile (signed in)")
async def get_me(session: SessionDep, user: CurrentUser) -> Me:
    return await profile.get_me(session, user)


@router.patch(
    "/me",
    response_model=Me,
    summary="Edit the caller's profile (signed in); a new password needs the current",
)
async def patch_me(session: SessionDep, user: CurrentUser, sign_in: SignIn, body: UserUpdate) -> Me:
    return await profile.update_me(session, user, body, keep_sign_in=sign_in)


@router.get(
    "/me/export",
    response_model=PersonalDataExport,
    summary="Everything held about the caller, as a JSON download (signed in)",
    description="GDPR access and portability. Included: profile (email, birth date, "
    "municipality), guardian consent status, roles, table memberships, meeting "
    "registrations with check-in codes, proposals (drafts, pending and hidden ones with "
    "their moderation status), co-authorships, comments (deleted and hidden ones flagged), "
    "comment votes, supports, the polls you voted in (never your choices: they are not "
    "stored with your identity), reports you filed, suspensions concerning you, active "
    "sign-ins (never the tokens), administration actions about you and a count of your "
    "recorded activity by type. Left out, with the reasons in `not_included`: reports "
    "about you and who filed them (to protect reporters), which staff member acted on "
    "you, secrets (password and token hashes), short-lived technical records, and what "
    "you wrote as staff (the organization's records). A fixed number of queries, "
    "whatever the amount of data.",
)
async def export_me(session: SessionDep, user: CurrentUser) -> JSONResponse:
    export = await data_export.export_personal_data(session, user)
    return JSONResponse(
        export.model_dump(mode="json"),
        headers={
            "Content-Disposition": f'attachment; filename="{data_export.export_filename()}"',
            "Cache-Control": "no-store",
        },
    )


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete (anonymize) the caller's account (signed in; confirm with the password)",
    description='Body `{"password": …}` (403 `wrong_password`; repeated failures are '
    "throttled, 429). The account is anonymized: email, password, birth date and "
    'municipality erased, name shown as "Partecipante rimosso", every session ended. '
    "Roles and table memberships are removed, registrations for meetings still to come "
    "cancelled (the waiting list moves up), drafts deleted. Published proposals and "
    "comments stay with `author: null`; supports, comment votes and poll participations "
    "stay as anonymous counts, so every count is unchanged. Afterwards signing in fails "
    "as with a wrong password and old tokens are refused (401).",
)
async def delete_me(session: SessionDep, user: CurrentUser, body: AccountDelete) -> Response:
    await erasure.delete_account(session, user, body)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
