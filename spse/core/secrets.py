"""Secrets for sources: API keys, logins. Read at run time, never logged, never stored.

Lookup order for ``get(conn_id, field)``:

1. the environment variable ``SPSE_<CONN_ID>_<FIELD>`` (e.g. ``SPSE_AIRPARIF_API_KEY``);
2. the Airflow connection ``conn_id`` when running under Airflow (``login``, ``password``,
   ``host`` or a key of its ``extra`` JSON), which Airflow itself may take from
   ``AIRFLOW_CONN_<CONN_ID>`` or a secrets backend.

Values are wrapped in :class:`Secret`, whose ``repr``/``str`` never show the value.
"""

from __future__ import annotations

import os

from spse.core.errors import MissingSecret  # re-exported: callers import it from here too


class Secret:
    """A secret value whose ``repr`` and ``str`` are ``Secret('***')``, so logs and tracebacks never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, to pass to the request that needs it (never to a log)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def get(conn_id: str, field: str) -> Secret:
    """The secret ``field`` of the connection ``conn_id``, in the lookup order of this module.

    Raises :class:`MissingSecret` naming the environment variable and the Airflow connection to set.
    """
    env = f"SPSE_{conn_id.upper()}_{field.upper()}"
    if os.environ.get(env):
        return Secret(os.environ[env])
    value = _from_airflow(conn_id, field)
    if value:
        return Secret(value)
    raise MissingSecret(f"secret {field!r} of {conn_id!r} is not configured: set {env} "
                        f"or the Airflow connection {conn_id!r}")


def _from_airflow(conn_id: str, field: str) -> str | None:
    try:
        from airflow.sdk import Connection
    except ImportError:
        return None
    try:
        conn = Connection.get(conn_id)
    except Exception:  # no such connection, or not inside a task
        return None
    if field in ("login", "password", "host"):
        return getattr(conn, field, None)
    return (conn.extra_dejson or {}).get(field)
