"""Who and which request the current log lines belong to.

Set by the HTTP middleware and by bearer authentication, read by the log formatter; kept on the
ground floor so that ``auth`` can set the client without importing the process layer.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
client_id_var: ContextVar[str | None] = ContextVar("client_id", default=None)
