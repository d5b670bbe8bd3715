"""Proving an address: "check your e-mail", the confirmation link's landing page, sending it again, and a
forgotten password: asking for a reset link, then choosing a new password through it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kb import accounts, email_links
from kb.errors import InvalidInput, TooManyRequests
from web import audit
from web.auth import SESSION_COOKIE, CsrfDep, MemberDep
from web.deps import SessionDep, SettingsDep
from web.identity import NO_SMTP, send_link
from web.render import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfDep])

Token = Annotated[str, Query(max_length=1000)]
NOTICES = {  # what the "check your e-mail" page says (a fixed set: nothing from the query string is shown)
    "sent": "We sent you an e-mail with a link to confirm your address.",
    "again": "We sent the link again.",
}
PROBLEMS = {
    "no-smtp": NO_SMTP,
    "failed": "The e-mail could not be sent just now. Try again in a few minutes.",
}


def secret_of(request: Request) -> str:
    return request.app.state.secret


def link_problem(request: Request, err: email_links.LinkRefused) -> HTMLResponse:
    return render(request, "link_problem.html", {"error": err.message, "purpose": err.purpose}, 400)


def problem_key(problem: str | None) -> str | None:
    if problem is None:
        return None
    return "no-smtp" if problem == NO_SMTP else "failed"


# --- confirming an address ---------------------------------------------------------------------------------


@router.get("/account/check-email", response_class=HTMLResponse)
def check_email_page(request: Request, session: SessionDep, user: MemberDep) -> Response:
    record = accounts.get_user_or_raise(session=session, user_id=user.id)
    if record.email_confirmed_at is not None:
        return RedirectResponse("/account", status_code=303)
    query = request.query_params
    return render(
        request,
        "check_email.html",
        {
            "account": record,
            "notice": NOTICES.get(query.get("done", "")),
            "error": PROBLEMS.get(query.get("problem", "")),
            "lasts": email_links.lifetime_words(email_links.CONFIRM),
        },
    )


@router.post("/account/confirm/resend")
def resend_confirmation(
    request: Request, session: SessionDep, settings: SettingsDep, user: MemberDep
) -> Response:
    record = accounts.get_user_or_raise(session=session, user_id=user.id)
    if record.email_confirmed_at is not None:
        return RedirectResponse("/account", status_code=303)
    try:
        email_links.check_link_spacing(session=session, user=record, purpose=email_links.CONFIRM)
    except TooManyRequests as err:
        context = {
            "account": record,
            "error": err.message,
            "lasts": email_links.lifetime_words(email_links.CONFIRM),
        }
        return render(request, "check_email.html", context, 429)
    problem = send_link(
        session=session,
        settings=settings,
        secret=secret_of(request),
        user=record,
        purpose=email_links.CONFIRM,
    )
    target = f"problem={problem_key(problem)}" if problem else "done=again"
    return RedirectResponse(f"/account/check-email?{target}", status_code=303)


@router.get("/confirm-email", response_class=HTMLResponse)
def confirm_email(request: Request, session: SessionDep, token: Token = "") -> HTMLResponse:
    try:
        record = email_links.confirm_email(session=session, secret=secret_of(request), token=token)
    except email_links.LinkRefused as err:
        audit.record("link-refused", request, purpose="confirm", reason=err.reason)
        return link_problem(request, err)
    audit.record("address-confirmed", request, user=record.id)
    return render(request, "email_confirmed.html", {"account": record})


# --- a forgotten password ----------------------------------------------------------------------------------


@router.get("/forgot-password", response_class=HTMLResponse)
def forgot_password_page(request: Request) -> HTMLResponse:
    return render(request, "forgot_password.html", {"email": ""})


@router.post("/forgot-password", response_class=HTMLResponse)
def forgot_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)] = "",
) -> HTMLResponse:
    """Always the same answer whether or not an account uses the address, so the form cannot be used to find
    out who has an account; only the mailbox's owner learns it, from the e-mail."""
    try:
        address = accounts.normalise_email(email)
    except InvalidInput as err:
        return render(request, "forgot_password.html", {"email": email, "error": err.message}, 422)
    if not settings.smtp_host:
        return render(request, "forgot_password.html", {"email": email, "error": NO_SMTP}, 503)
    record = accounts.get_user_by_email(session=session, email=address)
    if record is not None and not record.disabled:
        try:
            email_links.check_link_spacing(session=session, user=record, purpose=email_links.RESET)
        except TooManyRequests:
            pass  # why: saying so would tell a stranger the account exists; the first e-mail is on its way
        else:
            send_link(
                session=session,
                settings=settings,
                secret=secret_of(request),
                user=record,
                purpose=email_links.RESET,
            )
    return render(
        request,
        "forgot_password.html",
        {"sent_to": address, "lasts": email_links.lifetime_words(email_links.RESET)},
    )


@router.get("/reset-password", response_class=HTMLResponse)
def reset_password_page(request: Request, session: SessionDep, token: Token = "") -> HTMLResponse:
    try:
        record = email_links.user_for_token(
            session=session, secret=secret_of(request), token=token, purpose=email_links.RESET
        )
    except email_links.LinkRefused as err:
        return link_problem(request, err)
    return render(request, "reset_password.html", {"token": token, "email": record.email})


@router.post("/reset-password", response_class=HTMLResponse)
def reset_password(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        email_links.reset_password(session=session, secret=secret_of(request), token=token, password=password)
    except email_links.LinkRefused as err:
        return link_problem(request, err)
    except InvalidInput as err:
        try:
            email = email_links.user_for_token(
                session=session, secret=secret_of(request), token=token, purpose=email_links.RESET
            ).email
        except email_links.LinkRefused as refused:
            return link_problem(request, refused)
        context = {"token": token, "email": email, "error": err.message}
        return render(request, "reset_password.html", context, 422)
    audit.record("password-reset", request)
    # Every session of the account ended with the old password; this browser signs in afresh with the new one.
    response = RedirectResponse("/login?done=password-reset", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
