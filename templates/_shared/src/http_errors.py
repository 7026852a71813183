"""The error answers: every refused request gets a JSON body saying what was wrong and where."""

import math
from collections.abc import Callable, Coroutine, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from .middleware import BodyTooLargeError

# An echoed input longer than this is cut: the answer names the field, it need not repeat it.
MAX_ECHOED_CHARS = 100
# Past 64 bits an integer is no measurement, and past 4,300 digits Python refuses to print it.
MAX_ECHOED_BITS = 64
NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}

JsonScalar = str | int | float | bool | None


def echoed(value: object) -> JsonScalar:
    """A refused input as the answer can show it, whatever it was.

    The JSON encoder of the response cannot write NaN or Infinity, integers past 4,300 digits,
    undecodable bytes or unpaired surrogates, and a deeply nested value would exhaust its
    recursion limit. Such values
    come back as short text, and objects and arrays are not echoed at all.
    """
    if value is None or isinstance(value, bool | str):
        text = value
    elif isinstance(value, float):
        # json.loads reads NaN, Infinity and -Infinity, and turns 1e999 into infinity.
        return value if math.isfinite(value) else NON_FINITE.get(value, "NaN")
    elif isinstance(value, int):
        return value if value.bit_length() <= MAX_ECHOED_BITS else "(an integer too long to show)"
    elif isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    else:
        return None
    if isinstance(text, str):
        # Half a UTF-16 pair (JSON's "\ud800") reads into Python but cannot be written as UTF-8.
        text = text.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(text, str) and len(text) > MAX_ECHOED_CHARS:
        return text[:MAX_ECHOED_CHARS] + "…"
    return text


def location(loc: Sequence[object]) -> str:
    """`("body", "records", 0, "age")` as `records.0.age`; the body itself as `body`."""
    return ".".join(str(part) for part in loc if part != "body") or "body"


def describe(error: Mapping[str, object]) -> dict[str, object]:
    """One validation error with only what JSON can carry: where, what, and the input if small."""
    loc = error.get("loc")
    parts = (
        [part if isinstance(part, int) else str(part) for part in loc or ()]
        if isinstance(loc, tuple | list)
        else []
    )
    described: dict[str, object] = {
        "type": str(error.get("type")),
        "loc": parts,
        "msg": str(error.get("msg")),
    }
    refused = error.get("input")
    if not isinstance(refused, dict | list | tuple):
        described["input"] = echoed(refused)
    return described


def is_json(content_type: str | None) -> bool:
    """`application/json`, `application/problem+json` and the like, with any parameters."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def is_form(content_type: str | None) -> bool:
    """A form body (`multipart/form-data` or URL-encoded), which FastAPI parses as a form."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type in {"multipart/form-data", "application/x-www-form-urlencoded"}


def unreadable(cause: BaseException | None) -> str:
    """Why json.loads gave up on a body, in the words of the person who sent it."""
    if isinstance(cause, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(cause, RecursionError):
        return "it is nested too deeply"
    if isinstance(cause, ValueError):
        # The one other ValueError: Python reads no integer of more than 4,300 digits.
        return "it holds an integer too long to read"
    return "it is not JSON"


async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """422 naming every field that failed; 415 for a body that was not sent as JSON."""
    content_type = request.headers.get("content-type")
    # FastAPI hands the route the raw bytes of a body that was not declared JSON.
    if any(isinstance(item.get("input"), bytes) for item in error.errors()) and not is_json(
        content_type
    ):
        return JSONResponse(
            {
                "detail": f"The body was sent as {content_type or 'no content type'}: send JSON "
                "with Content-Type: application/json"
            },
            status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        )
    message = "; ".join(f"{location(item['loc'])}: {item['msg']}" for item in error.errors())
    errors = [describe(item) for item in error.errors()]
    return JSONResponse({"detail": errors, "message": message}, status_code=422)


async def http_error(request: Request, error: HTTPException) -> JSONResponse:
    """Any other refusal, with its status code and a detail saying how to fix the request."""
    if isinstance(error.__cause__, BodyTooLargeError):
        # FastAPI turns any failure while it reads the body into a 400; this one is a 413.
        return JSONResponse(
            {"detail": str(error.__cause__)}, status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        )
    detail = str(error.detail)
    if error.status_code == HTTPStatus.BAD_REQUEST and is_form(request.headers.get("content-type")):
        # An upload route's 400: the form parser could not split the body into its parts.
        detail += " Send the files as multipart/form-data, as `curl -F files=@FILE` writes it."
    elif error.status_code == HTTPStatus.BAD_REQUEST:
        # FastAPI's 400 means the body could not be read as JSON at all; the cause says why.
        detail += f" ({unreadable(error.__cause__)}): send a UTF-8 JSON body with "
        detail += "Content-Type: application/json"
    return JSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)


# What every app registers: FastAPI(..., exception_handlers=http_errors.HANDLERS).
HANDLERS: dict[int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]] = {
    RequestValidationError: validation_error,
    HTTPException: http_error,
}
