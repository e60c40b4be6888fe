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
# (a password may hold '@': the address's host follows the last one)
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^:@/\s]*):(?P<password>[^/\s]*)@")
SECRET_VARIABLES = ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "PGPASSWORD")  # their values are never shown
_QUERY_SECRET = re.compile(r"(?P<key>(?:password|passwd|pwd|secret|token)=)[^&\s]+", re.IGNORECASE)


class AccessDeniedError(MMMError):
    """The tracking server refused the caller (401 or 403)."""


def redact(text: str) -> str:
    """Text with every password in a URL (user:password@ or password=...), and the value of every secret
    variable of the environment (MLFLOW_TRACKING_PASSWORD, ...), replaced by ***."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['key']}***", text)
    for name in SECRET_VARIABLES:
        secret = os.environ.get(name, "")
        if len(secret) >= 4:  # a shorter value would mask ordinary text
            text = text.replace(secret, "***")
    return text


def without_login(uri: str) -> str:
    """The address with its user:password@ part left out (to open in a browser, which asks for the login)."""
    return _USERINFO.sub(lambda m: m["scheme"], uri)


def has_password(uri: str) -> bool:
    """Whether a URI carries a password (which belongs in the environment, not in a command)."""
    return redact(uri) != uri


def caller(uri: str = "") -> str:
    """Who the server sees: the MLFLOW_TRACKING_USERNAME user, else the user the address names, or an anonymous caller."""
    named = _USERINFO.search(uri)
    user = os.environ.get("MLFLOW_TRACKING_USERNAME") or (named["user"] if named else None)
    return f"user '{user}'" if user else "an anonymous caller (MLFLOW_TRACKING_USERNAME is not set)"


def refusal_status(exc: BaseException) -> int | None:
    """401 or 403 when an MLflow error is the server refusing access, else None."""
    return REFUSED.get(str(getattr(exc, "error_code", "")))


def denial(status: int, what: str, uri: str) -> AccessDeniedError:
    """The one-line message for a refusal: who, on what, and what to do."""
    where = redact(uri)
    if status == 401:
        return AccessDeniedError(
            f"the tracking server {where} did not accept the credentials of {caller(uri)} for {what}: "
            "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to your account on that server "
            "(or ask its admin for one)"
        )
    return AccessDeniedError(
        f"the tracking server {where} refused {caller(uri)} access to {what}: ask the server's admin for permission "
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


def unreachable(exc: BaseException) -> str | None:
    """Why the tracking server could not be reached, when that is what `exc` (or an error behind it) says."""
    seen: BaseException | None = exc
    for _ in range(20):  # the chain of causes, which may loop
        if seen is None:
            break
        name = type(seen).__name__
        if name in ("ConnectionError", "MaxRetryError", "NewConnectionError", "NameResolutionError", "ConnectTimeout"):
            return "no connection"
        if "Max retries exceeded" in str(seen) or "Connection refused" in str(seen):
            return "connection refused" if "refused" in str(seen) else "no connection"
        seen = seen.__cause__ or seen.__context__
    return None
