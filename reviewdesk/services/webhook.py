"""POSTing alerts to a webhook: JSON, a timeout on every attempt, a few retries with back-off.

The URL is a secret (its path or query usually holds the token): messages name it only as
``mask_webhook_url`` shows it. Only http and https URLs are accepted.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from reviewdesk import __version__
from reviewdesk.core.errors import ConfigurationError
from reviewdesk.storage.urls import mask_webhook_url

TIMEOUT_S = 10.0
ATTEMPTS = 3
BACKOFF_S = 1.0  # then 2 s, 4 s, ...


class WebhookFailed(Exception):
    """Every attempt failed; the message names the masked URL and the last reason."""


def check_webhook_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host; ConfigurationError naming it (masked)."""
    scheme, sep, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not sep or not rest.split("/", 1)[0]:
        raise ConfigurationError(
            f"Not a webhook URL: {mask_webhook_url(url)!r}. Give an http:// or https:// URL."
        )
    return url


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float = TIMEOUT_S,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF_S,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST ``payload`` as JSON; returns the HTTP status of the attempt that succeeded (2xx).
    A 4xx answer other than 408 and 429 is not retried: the hook refuses the request itself."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"reviewdesk/{__version__}"}
    last = ""
    for attempt in range(attempts):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code} {exc.reason}"
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                break
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            last = f"{reason}"
    raise WebhookFailed(
        f"POST to {mask_webhook_url(url)} failed after {attempt + 1} attempt(s): {last}"
    )
