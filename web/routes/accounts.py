"""Signing in and out, registering, one's own account, and the admin's user list."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kb import accounts
from kb.email_links import CONFIRM
from kb.errors import Forbidden, InvalidInput, KbError, TooManyRequests
from kb.store.models import ROLES
from web import audit
from web.auth import SESSION_COOKIE as SESSION_COOKIE_NAME
from web.auth import (
    AdminDep,
    CsrfDep,
    MemberDep,
    OptionalUserDep,
    session_token,
    set_session_cookie,
)
from web.deps import IdPath, SessionDep, SettingsDep
from web.identity import NO_SMTP, send_link
from web.render import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])

LOGIN_NOTICES = {"password-reset": "Your password is changed. Sign in with your new password."}


def safe_next(target: str | None) -> str:
    """Only a path on this site: never redirect a signed-in user to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- signing in and out ----------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, user: OptionalUserDep, next: Annotated[str | None, Query()] = None):  # noqa: A002
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = LOGIN_NOTICES.get(request.query_params.get("done", ""))
    return render(request, "login.html", {"next": safe_next(next), "email": "", "notice": notice})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002
) -> Response:
    client = client_of(request)
    by_email, by_client = accounts.recent_failures(
        session=session, email=email, client=client, minutes=settings.login_window_minutes
    )
    if by_email >= settings.login_attempts or by_client >= 4 * settings.login_attempts:
        audit.record("sign-in-paused", request, address=audit.address_tag(email))
        raise TooManyRequests(
            f"Too many failed sign-ins. Wait {settings.login_window_minutes} minutes and try again, "
            "or ask an admin to reset your password."
        )
    user = accounts.authenticate(session=session, email=email, password=password)
    if user is None:
        accounts.record_failure(session=session, email=email, client=client)
        audit.record("sign-in-failed", request, address=audit.address_tag(email))
        return render(
            request,
            "login.html",
            {
                "next": safe_next(next),
                "email": email,
                "error": "That e-mail address and password do not match an account.",
            },
            status_code=401,
        )
    accounts.clear_failures(session=session, email=email)
    audit.record("signed-in", request, user=user.id)
    token = accounts.start_session(session=session, user_id=user.id, days=settings.session_days)  # type: ignore[arg-type]
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, token, days=settings.session_days)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    token = session_token(request)
    if token:
        accounts.end_session(session=session, token=token)
        audit.record("signed-out", request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE_NAME, path="/")
    return response


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, settings: SettingsDep, user: OptionalUserDep):
    if not settings.allow_registration:
        raise Forbidden("Accounts on this site are made by its admins: ask the programme team for one.")
    if user is not None:
        return RedirectResponse("/account", status_code=303)
    return render(request, "register.html", {"values": {}})


@router.post("/register", response_class=HTMLResponse)
def register(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: OptionalUserDep,
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    organisation: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    if not settings.allow_registration:
        raise Forbidden("Accounts on this site are made by its admins: ask the programme team for one.")
    if user is not None:
        raise Forbidden(f"You are signed in as {user.email}: sign out before registering another account.")
    values = {"email": email, "name": name, "organisation": organisation}
    try:
        created = accounts.create_user(
            session=session, email=email, name=name, password=password, organisation=organisation
        )
    except KbError as err:
        return render(request, "register.html", {"values": values, "error": err.message}, err.status_code)
    audit.record("registered", request, user=created.id)
    token = accounts.start_session(session=session, user_id=created.id, days=settings.session_days)  # type: ignore[arg-type]
    # The address is not the member's until they follow the link sent to it (kb/email_links.py).
    problem = send_link(
        session=session, settings=settings, secret=request.app.state.secret, user=created, purpose=CONFIRM
    )
    target = f"problem={'no-smtp' if problem == NO_SMTP else 'failed'}" if problem else "done=sent"
    response = RedirectResponse(f"/account/check-email?{target}", status_code=303)
    set_session_cookie(request, response, token, days=settings.session_days)
    return response


# --- one's own account --------------------------------------------------------------------


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, session: SessionDep, user: MemberDep):
    record = accounts.get_user_or_raise(session=session, user_id=user.id)
    return render(request, "account.html", {"account": record, "message": request.query_params.get("done")})


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: MemberDep,
    current: Annotated[str, Form(max_length=1000)] = "",
    new: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    record = accounts.get_user_or_raise(session=session, user_id=user.id)
    error = None
    if not accounts.verify_password(record.password_hash, current):
        error = "Your current password is not right."
    else:
        try:
            accounts.set_password(session=session, user_id=user.id, password=new)
        except InvalidInput as err:
            error = err.message
    if error:
        return render(request, "account.html", {"account": record, "error": error}, status_code=422)
    audit.record("password-changed", request, user=user.id)
    token = accounts.start_session(session=session, user_id=user.id, days=settings.session_days)
    response = RedirectResponse(
        "/account?" + urlencode({"done": "Your password is changed."}), status_code=303
    )
    set_session_cookie(request, response, token, days=settings.session_days)
    return response


# --- the admin's user list ------------------------------------------------------------------


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, user: AdminDep):
    return render(
        request,
        "admin_users.html",
        {
            "users": accounts.list_users(session=session),
            "roles": ROLES[1:],
            "message": request.query_params.get("done"),
        },
    )


@router.post("/admin/users/{user_id}/role")
def change_role(
    request: Request,
    session: SessionDep,
    user: AdminDep,
    user_id: IdPath,
    role: Annotated[str, Form(max_length=20)],
) -> Response:
    changed = accounts.set_role(session=session, user_id=user_id, role=role)
    audit.record("role-changed", request, user=user_id, role=changed.role, by=user.id)
    done = f"{changed.name} is now a {changed.role}."
    return RedirectResponse("/admin/users?" + urlencode({"done": done}), status_code=303)


@router.post("/admin/users/{user_id}/disabled")
def change_disabled(
    request: Request,
    session: SessionDep,
    user: AdminDep,
    user_id: IdPath,
    disabled: Annotated[bool, Form()] = False,
) -> Response:
    if user_id == user.id and disabled:
        raise InvalidInput("You cannot disable your own account.")
    changed = accounts.set_disabled(session=session, user_id=user_id, disabled=disabled)
    audit.record("access-changed", request, user=user_id, disabled=changed.disabled, by=user.id)
    done = f"{changed.name} can {'no longer' if changed.disabled else 'again'} sign in."
    return RedirectResponse("/admin/users?" + urlencode({"done": done}), status_code=303)
