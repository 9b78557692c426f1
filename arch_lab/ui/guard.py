"""What stands between the public internet and the handlers: error mapping and the private-route gate.

Every event of the page travels over gradio's queue, so anyone can call any of them with any inputs
(``queue/join`` with an ``fn_index``); hiding events from the API docs protects nothing. Two rules follow:

* every handler is wrapped in :func:`handler`, so a bad input (``SpecError``) reaches the user as its
  message and the log as one line, and a bug reaches the user as a generic message and the log as one
  entry with the exception's type and a cut message — never the user's payload in full;
* :class:`GuardedBlocks` does the same for gradio's own input processing, which runs before any handler:
  a value outside a dropdown's choices, a slider out of range, a file path that was not uploaded, or a
  payload of the wrong shape becomes one log line and a clear message, not a traceback or gradio's
  generic error;
* :class:`PublicRoutesOnly` refuses the client-library routes (``/gradio_api/call/<name>`` and its
  relatives) for every event that is not public API, since gradio 6.31 runs them whatever the event's
  ``api_visibility``.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import traceback
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qs

import gradio as gr
from gradio.exceptions import InvalidPathError

from arch_lab.errors import LimitError, SpecError

log = logging.getLogger("arch_lab.ui")
F = TypeVar("F", bound=Callable[..., Any])
LOGGED_CHARS = 200
"""How much of a message reaches the log: enough to read, never a whole payload."""
INTERNAL_ERROR = "Something went wrong on our side (it was logged); please try again or report it."


def refuse(message: str, title: str = "Not allowed") -> gr.Error:
    """A message for the user: shown as a toast and raised by ``gradio_client`` as ``AppError``; gradio
    writes no traceback for it."""
    return gr.Error(message, title=title, print_exception=False)


def handler(fn: F | None = None, *, title: str | None = None) -> Any:
    """Wrap an event handler so that nothing but a clear message leaves it (see the module docstring);
    ``@handler`` or ``@handler(title=...)``.

    A refusal's title names what was refused: the ``title`` of the error's class if it has one (a quota
    refusal), else the handler's ``title`` (a measurement, an export), else "Over the request limits" for
    a :class:`LimitError` and "Not a valid design" for any other :class:`SpecError`. The wrapper keeps
    ``fn``'s signature (gradio reads it for ``gr.Progress`` and ``gr.Request``).
    """
    if fn is None:
        return functools.partial(handler, title=title)
    name = getattr(fn, "__name__", "handler")

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpecError as exc:
            log.info("refused %s: %s", name, _cut(str(exc)))
            raise refuse(str(exc)[:2 * LOGGED_CHARS], title=refusal_title(exc, title)) from None
        except gr.Error as exc:
            log.info("refused %s: %s", name, _cut(str(exc.message)))
            exc.print_exception = False
            raise
        except Exception as exc:  # a bug: one log entry (type, cut message, where), a generic message
            where = "".join(traceback.format_tb(exc.__traceback__, limit=-3))
            log.error("internal error in %s: %s: %s\n%s", name, type(exc).__name__, _cut(str(exc)), where)
            raise refuse(INTERNAL_ERROR, title="Internal error") from None

    wrapped.guarded = True  # type: ignore[attr-defined]  (checked by the tests for every event)
    return wrapped


def refusal_title(exc: SpecError, title: str | None = None) -> str:
    """The title of a refusal (see :func:`handler`)."""
    own = getattr(exc, "title", None)
    if isinstance(own, str):
        return own
    if title is not None:
        return title
    return "Over the request limits" if isinstance(exc, LimitError) else "Not a valid design"


class GuardedBlocks(gr.Blocks):
    """``gr.Blocks`` whose input processing fails with a message: gradio prints a traceback for its own
    component errors and answers anything else (``InvalidPathError``, a payload pydantic rejects) with
    its generic error."""

    async def preprocess_data(self, block_fn: Any, inputs: list[Any], state: Any,
                              explicit_call: bool = False) -> Any:
        try:
            _check_whole_numbers(block_fn, inputs)
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error as exc:  # a component's own check, e.g. a value outside a dropdown's choices
            message = str(exc.message)
        except InvalidPathError:
            message = "file: only files uploaded through this page can be opened"
        except Exception as exc:  # noqa: BLE001  (a payload of the wrong shape: pydantic, components)
            message = f"an input of {getattr(block_fn, 'name', 'this event')} does not have the expected form " \
                      f"({type(exc).__name__})"
        log.info("refused input of %s: %s", getattr(block_fn, "name", "event"), _cut(message))
        raise refuse(message[:2 * LOGGED_CHARS], title="Not allowed")


def _check_whole_numbers(block_fn: Any, inputs: list[Any]) -> None:
    """Refuse a number input shown without decimals (``precision=0``) that is not a whole number: gradio
    would round 2.5 to 2 and take ``true`` for 1 before the handler could tell."""
    for block, value in zip(block_fn.inputs, inputs, strict=False):
        if not isinstance(block, gr.Number) or block.precision != 0 or value is None:
            continue
        whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if isinstance(value, bool) or not whole:
            low, high = block.minimum, block.maximum
            allowed = "" if low is None or high is None else f" from {low:,.0f} to {high:,.0f}"
            raise gr.Error(f"{block.label or 'number'}: {json.dumps(value)[:20]} is not allowed; expected a whole "
                           f"number{allowed}")


def _cut(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= LOGGED_CHARS else f"{text[:LOGGED_CHARS]}… ({len(text):,} characters)"


CLIENT_ROUTES = re.compile(r"^/gradio_api/(?:call/v2|call|run|api)/(?P<name>[^/]+)/?$")
"""The routes that run an event by its api name (``GET /gradio_api/call/<name>/<event_id>`` only reads a
result and is left alone)."""
UPLOAD_ROUTE = "/gradio_api/upload"
JOIN_ROUTE = "/gradio_api/queue/join"
DATA_ROUTE = "/gradio_api/queue/data"
MAX_BODY_BYTES = 512 * 1024
"""Largest request body outside uploads (whose cap is ``launch(max_file_size=…)``). The app's longest text
is 100,000 characters, at most 400 KB of UTF-8; gradio keeps each session's last inputs, so a larger body
would only be memory held for a request that is refused anyway."""


class PublicRoutesOnly:
    """ASGI middleware answering, before gradio sees them, the requests gradio would answer with a
    traceback or run although they are not public:

    * a ``POST`` to a client-library route of a non-public event: 404;
    * a ``POST`` body over :data:`MAX_BODY_BYTES` (uploads aside): 413, before it is read in full;
    * a JSON body with a non-finite number (``NaN``, ``Infinity``, ``1e999``), which gradio's validation
      error handler cannot encode (HTTP 500 and two tracebacks): 400;
    * a queue join whose ``fn_index`` names no event (gradio: ``KeyError``, HTTP 500): 404;
    * a ``GET`` of the queue's event stream for a session that never joined (gradio: two tracebacks): 404.

    Each refusal is one log line. Added through ``launch(app_kwargs={"middleware": [...]})``, which gradio
    passes to its FastAPI app; ``events()`` gives the valid event indices and ``joined(session)`` whether a
    session has a queue, both read when a request comes (gradio's own state).
    """

    def __init__(self, app: Any, public: Iterable[str], events: Callable[[], Collection[int]] = tuple,
                 joined: Callable[[str], bool] = lambda session: True) -> None:
        self.app = app
        self.public = frozenset(public)
        self.events, self.joined = events, joined

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if scope.get("method") == "GET":
            session = _query(scope, "session_hash")
            if path.rstrip("/") == DATA_ROUTE and session is not None and not self.joined(session):
                await _refused(send, 404, f"no queued events for session {session[:40]!r}; join the queue first")
                return
            await self.app(scope, receive, send)
            return
        if scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        match = CLIENT_ROUTES.match(path)
        if match and match["name"] not in self.public:
            await _refused(send, 404, f"no public API endpoint named {match['name'][:60]!r}; public endpoints: "
                                      f"{', '.join(sorted(self.public))}")
            return
        if path.rstrip("/") == UPLOAD_ROUTE:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, MAX_BODY_BYTES)
        if body is None:
            await _refused(send, 413, f"request body too large; at most {MAX_BODY_BYTES:,} bytes (the longest "
                                      "design text is 100,000 characters)")
            return
        problem = self._malformed(path, body)
        if problem is not None:
            await _refused(send, *problem)
            return

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _malformed(self, path: str, body: bytes) -> tuple[int, str] | None:
        """What is wrong with a JSON body gradio would fail on (None: let gradio answer it)."""
        try:
            data = json.loads(body, parse_constant=_non_finite, parse_float=_finite_float)
        except _NonFinite as exc:
            return 400, f"request body: {exc} is not a JSON number; numbers must be finite"
        except (ValueError, RecursionError):  # not JSON at all: gradio's own validation answers it cleanly
            return None
        if path.rstrip("/") == JOIN_ROUTE and isinstance(data, dict) and data.get("fn_index") is not None:
            index = data["fn_index"]
            if isinstance(index, bool) or not isinstance(index, int) or index not in self.events():
                return 404, f"fn_index: {str(index)[:20]} names no event of this app"
        return None


class _NonFinite(ValueError):
    pass


def _non_finite(text: str) -> float:
    raise _NonFinite(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text[:20])
    return value


def _query(scope: dict[str, Any], name: str) -> str | None:
    """The first value of query parameter ``name`` (None when absent)."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


async def _refused(send: Any, status: int, detail: str) -> None:
    """Answer ``status`` with ``detail`` as gradio's own errors do, and log one line."""
    log.info("refused request (%d): %s", status, _cut(detail))
    await _answer(send, status, detail)


async def _read_body(receive: Any, limit: int) -> bytes | None:
    """The request body, or ``None`` as soon as it exceeds ``limit`` bytes (the rest is never read)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Any, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
