"""How a database URL is shown to a person, and what of it may be stored: never a password.

A password can sit in two places of a URL: the userinfo (``user:PASSWORD@host``) and the query,
where libpq reads ``password`` and ``sslpassword`` (the passphrase of the client key). Every URL
that ReviewDesk prints, logs or writes goes through ``mask_url``; a stored URL goes through
``without_secrets``. A URL that does not parse is masked as text, so that a typo never echoes
the password that came with it.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

MASK = "***"
# libpq's connection parameters that hold a secret (passfile is a path, not a secret).
SECRET_QUERY_KEYS = frozenset({"password", "sslpassword"})

# ``key=value`` for a secret key, as a URL query has it (``?``/``&``) or a libpq connection
# string (spaces, quoted values). The key is matched in any case: a misspelt one is still a
# secret to its author.
_KEYS = "|".join(sorted(SECRET_QUERY_KEYS, key=len, reverse=True))
_SECRET_PARAMETER = re.compile(
    rf"(?P<key>(?:^|(?<=[?&;\s]))(?:{_KEYS})\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'?|[^&;\s]*)",
    re.IGNORECASE,
)


def mask_url(url: URL | str) -> str:
    """``url`` with every password replaced by ``***``: safe for messages, logs and files.

    Takes a parsed URL or the text a person gave, which need not parse.
    """
    if isinstance(url, str):
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            return _mask_text(url)
    else:
        parsed = url
    return _mask_parameters(parsed.render_as_string(hide_password=True))


def without_secrets(url: URL) -> URL:
    """``url`` with no password in its userinfo or its query: what may be stored."""
    query = {k: v for k, v in url.query.items() if k.lower() not in SECRET_QUERY_KEYS}
    # URL.set(password=None) keeps the password: build the URL again without it.
    return URL.create(
        url.drivername,
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=query,
    )


def query_password(url: URL) -> str | None:
    """The password given as ``?password=`` (libpq takes it from there too), if any."""
    for key, value in url.query.items():
        if key.lower() == "password":
            return value if isinstance(value, str) else (value[-1] if value else None)
    return None


def _mask_parameters(text: str) -> str:
    return _SECRET_PARAMETER.sub(lambda m: m.group("key") + MASK, text)


def _mask_text(raw: str) -> str:
    # Text that is not a URL may still carry a password between ':' and the last '@', with or
    # without a scheme (``ana:pw@host/db``). Masking too much here beats echoing a secret.
    text = _mask_parameters(raw)
    scheme, sep, rest = text.partition("://") if "://" in text else ("", "", text)
    if "@" not in rest:
        return text
    credentials, host = rest.rsplit("@", 1)
    if ":" not in credentials:
        return text
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:{MASK}@{host}"


def mask_webhook_url(url: str) -> str:
    """A webhook URL as it may be printed: its secret is commonly the path past the first
    segment (``/services/T0/B0/SECRET``), a query value (``?token=SECRET``) or a userinfo
    password, so all three are masked; scheme, host, port and first segment stay, to tell
    which hook it is."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return MASK
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        user, host = authority.rsplit("@", 1)
        authority = f"{user.split(':', 1)[0]}:{MASK}@{host}" if ":" in user else authority
    path, question, query = path.partition("?")
    path = path.split("#", 1)[0]
    segments = path.split("/") if path else []
    shown = "/".join(segments[:1] + ([MASK] if len(segments) > 1 else []))
    masked = f"{scheme}://{authority}{slash}{shown}"
    if question:
        pairs = [p.partition("=")[0] + "=" + MASK for p in query.split("&") if p]
        masked += "?" + "&".join(pairs)
    return masked
