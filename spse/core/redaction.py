"""Credentials removed from URLs before they are logged or stored.

A source URL may carry a secret (``https://user:password@host/…`` or a query parameter
such as ``?api_key=…``). The request still uses it; everything spse writes (error
messages, the quality log, raw ``.meta.json``, ``provenance.json``, the warehouse,
``spse sources --locations``) goes through :func:`redact_url` first.
"""

from __future__ import annotations

import re

REDACTED = "***"

# ``scheme://userinfo@``: everything between ``//`` and the last ``@`` before the host.
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#\s@'\"<>]*@")
# A query parameter whose name looks like a secret (api_key, access_token, password,
# X-Amz-Signature, X-Amz-Credential, Azure SAS ``sig``…): its value is replaced, up to the
# next parameter, a space, or a colon ending the URL in a message ("url …?key=K: HTTP 404").
_SECRET_PARAM = re.compile(
    r"(?P<name>[?&;](?:[^=&;#\s'\"<>]*?(?:key|token|passw|pwd|secret|signature|credential|auth|session)"
    r"[^=&;#\s'\"<>]*|sig)=)(?:[^&;#\s'\"<>:]|:(?!\s|$))*",
    re.IGNORECASE)


def redact_url(text: str | None) -> str | None:
    """``text`` (a URL, or a message holding URLs) with userinfo and secret query values replaced by ``***``.

    ``https://u:p@host/a.zip?api_key=K&day=1`` → ``https://***@host/a.zip?api_key=***&day=1``;
    anything else is kept as written, so a URL without secrets is returned unchanged.
    """
    if not text:
        return text
    return _SECRET_PARAM.sub(rf"\g<name>{REDACTED}", _USERINFO.sub(rf"\g<scheme>{REDACTED}@", text))
