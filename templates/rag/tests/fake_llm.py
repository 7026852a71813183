"""A fake OpenAI-compatible server: a real HTTP server on a free local port, in a thread.

It answers POST /v1/chat/completions with the replies a test queues (the last one repeats) and
records every request, so tests see exactly what the client sent: path, headers and body.
"""

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Reply:
    """One scripted reply: a status and a raw body, after an optional stall."""

    status: int = 200
    body: str = ""
    # Seconds to wait before replying (longer than the client's timeout: a timeout). The wait
    # ends early when the server stops, so no test waits it out.
    stall: float = 0.0


def completion(text: str) -> Reply:
    """A chat completion whose message is `text`, shaped as OpenAI's API returns it."""
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": "fake-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }
    return Reply(200, json.dumps(body))


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = self.body["messages"]
        return messages


@dataclass
class FakeLLM:
    """The server's script and what it received; `url` is the API root to configure."""

    url: str = ""
    replies: list[Reply] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    # When set, a request without "Authorization: Bearer <key>" gets a 401, as OpenAI's does.
    required_key: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def queue(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def next_reply(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            if self.required_key and request.headers.get("authorization") != (
                f"Bearer {self.required_key}"
            ):
                return Reply(401, json.dumps({"error": {"message": "Incorrect API key"}}))
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def handler_for(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            headers = {name.lower(): value for name, value in self.headers.items()}
            if self.path != "/v1/chat/completions":
                reply = Reply(404, json.dumps({"error": {"message": f"no route {self.path}"}}))
            else:
                reply = fake.next_reply(Request(self.path, headers, body))
            if reply.stall and fake.stopping.wait(reply.stall):
                return
            data = reply.body.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: pytest shows what matters, the assertions."""

    return Handler


@contextmanager
def fake_llm_server() -> Iterator[FakeLLM]:
    """A running fake server on 127.0.0.1 and a free port, stopped on exit."""
    fake = FakeLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
    # A stalled reply must not hold up the end of a test.
    server.daemon_threads = True
    server.block_on_close = False
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    """The fake server, for one test."""
    with fake_llm_server() as server:
        yield server


def free_port() -> int:
    """A local port nothing listens on (bound, read and released): an endpoint that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
