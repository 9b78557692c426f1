"""What stands between the public internet and the handlers: error mapping and the private-route gate.

Every event of the page travels over gradio's queue, so anyone can call any of them with any inputs
(``queue/join`` with an ``fn_index``); hiding events from the API docs protects nothing. Two rules follow:

* every handler is wrapped in :func:`handler`, so a bad input (``SpecError``) reaches the user as its
  message and the log as one line, and a bug reaches the user as a generic message and the log as one
  entry with the exception's type and a cut message — never the user's payload in full;
* :class:`PublicRoutesOnly` refuses the client-library routes (``/gradio_api/call/<name>`` and its
  relatives) for every event that is not public API, since gradio 6.31 runs them whatever the event's
  ``api_visibility``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import traceback
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import gradio as gr

from arch_lab.errors import SpecError

log = logging.getLogger("arch_lab.ui")
F = TypeVar("F", bound=Callable[..., Any])
LOGGED_CHARS = 200
"""How much of a message reaches the log: enough to read, never a whole payload."""
INTERNAL_ERROR = "Something went wrong on our side (it was logged); please try again or report it."


def refuse(message: str, title: str = "Not allowed") -> gr.Error:
    """A message for the user: shown as a toast and raised by ``gradio_client`` as ``AppError``; gradio
    writes no traceback for it."""
    return gr.Error(message, title=title, print_exception=False)


def handler(fn: F) -> F:
    """Wrap an event handler so that nothing but a clear message leaves it (see the module docstring).

    The wrapper keeps ``fn``'s signature (gradio reads it for ``gr.Progress`` and ``gr.Request``).
    """
    name = getattr(fn, "__name__", "handler")

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpecError as exc:
            log.info("refused %s: %s", name, _cut(str(exc)))
            raise refuse(str(exc)[:2 * LOGGED_CHARS], title="Not a valid design") from None
        except gr.Error as exc:
            log.info("refused %s: %s", name, _cut(str(exc.message)))
            exc.print_exception = False
            raise
        except Exception as exc:  # a bug: one log entry (type, cut message, where), a generic message
            where = "".join(traceback.format_tb(exc.__traceback__, limit=-3))
            log.error("internal error in %s: %s: %s\n%s", name, type(exc).__name__, _cut(str(exc)), where)
            raise refuse(INTERNAL_ERROR, title="Internal error") from None

    return wrapped  # type: ignore[return-value]


def _cut(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= LOGGED_CHARS else f"{text[:LOGGED_CHARS]}… ({len(text):,} characters)"


CLIENT_ROUTES = re.compile(r"^/gradio_api/(?:call/v2|call|run|api)/(?P<name>[^/]+)/?$")
"""The routes that run an event by its api name (``GET /gradio_api/call/<name>/<event_id>`` only reads a
result and is left alone)."""


class PublicRoutesOnly:
    """ASGI middleware: ``POST`` to a client-library route of a non-public event answers 404.

    Added through ``launch(app_kwargs={"middleware": [...]})``, which gradio passes to its FastAPI app.
    """

    def __init__(self, app: Any, public: Iterable[str]) -> None:
        self.app = app
        self.public = frozenset(public)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            match = CLIENT_ROUTES.match(scope.get("path", ""))
            if match and match["name"] not in self.public:
                body = json.dumps({"detail": f"no public API endpoint named {match['name'][:60]!r}; "
                                             f"public endpoints: {', '.join(sorted(self.public))}"}).encode()
                log.info("refused private route %s", _cut(scope["path"]))
                await send({"type": "http.response.start", "status": 404,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
