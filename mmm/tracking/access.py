"""Talking to a tracking server that may say no: refusals in plain words, and secrets never shown.

A 401 (who are you?) or 403 (not allowed) from MLflow becomes an `AccessDeniedError` naming
who was refused, on what, and what to do; a store address is always shown with any password
replaced by `***`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from mmm.core.errors import MMMError

REFUSED = {"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403}
# user:password@ in any URL (http, https, postgresql, mysql, ...), and password=... in a query string
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:@/\s]*):(?P<password>[^@/\s]*)@")
_QUERY_SECRET = re.compile(r"(?P<key>(?:password|passwd|pwd|secret|token)=)[^&\s]+", re.IGNORECASE)


class AccessDeniedError(MMMError):
    """The tracking server refused the caller (401 or 403)."""


def redact(text: str) -> str:
    """Text with every password in a URL (user:password@ or password=...) replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['key']}***", text)


def has_password(uri: str) -> bool:
    """Whether a URI carries a password (which belongs in the environment, not in a command)."""
    return redact(uri) != uri


def caller() -> str:
    """Who the server sees: the MLFLOW_TRACKING_USERNAME user, or an anonymous caller."""
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    return f"user '{user}'" if user else "an anonymous caller (MLFLOW_TRACKING_USERNAME is not set)"


def refusal_status(exc: BaseException) -> int | None:
    """401 or 403 when an MLflow error is the server refusing access, else None."""
    return REFUSED.get(str(getattr(exc, "error_code", "")))


def denial(status: int, what: str, uri: str) -> AccessDeniedError:
    """The one-line message for a refusal: who, on what, and what to do."""
    where = redact(uri)
    if status == 401:
        return AccessDeniedError(
            f"the tracking server {where} did not accept the credentials of {caller()} for {what}: "
            "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to your account on that server "
            "(or ask its admin for one)"
        )
    return AccessDeniedError(
        f"the tracking server {where} refused {caller()} access to {what}: ask the server's admin for permission "
        "(READ to look at it, EDIT to fit or plan in it)"
    )


@contextmanager
def refusals(what: str, uri: str) -> Iterator[None]:
    """Turn the server's 401/403 inside the block into an AccessDeniedError about `what`."""
    try:
        yield
    except MMMError:
        raise
    except Exception as exc:
        status = refusal_status(exc)
        if status is None:
            raise
        raise denial(status, what, uri) from None
