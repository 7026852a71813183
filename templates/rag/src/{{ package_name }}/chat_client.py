"""A client for any OpenAI-compatible /chat/completions endpoint: timeouts, retries, clear errors.

Ollama, vLLM, llama.cpp's server and OpenAI all speak this one request shape, so a single small
client serves them all without an SDK.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from .config import LLMConfig
from .errors import UserError

# Shown from a reply that is not what was expected: enough to recognise an HTML error page.
SNIPPET_CHARS = 120
HTTP_SERVER_ERROR = 500
HTTP_CLIENT_ERROR = 400
UNAUTHORIZED = (401, 403)


class LLMError(UserError):
    """The language model's endpoint failed or answered garbage: the message names the URL and
    what to do."""


@dataclass(frozen=True)
class ChatReply:
    """The model's text, and how many requests it took (retries included)."""

    text: str
    attempts: int


class ChatClient:
    """Sends one conversation, retrying what a retry can fix, and returns the model's reply."""

    def __init__(self, config: LLMConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        # Tests record the waits instead of sleeping through them.
        self.sleep = sleep
        # Loading the CA certificates takes tens of milliseconds: once, not once per question.
        self.tls = httpx.create_ssl_context()

    @property
    def endpoint(self) -> str:
        return f"{self.config.base_url.rstrip('/')}/chat/completions"

    def headers(self) -> dict[str, str]:
        """The Bearer header only when a key is set: local servers neither need nor want one."""
        key = self.config.api_key.get_secret_value()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def complete(self, messages: Sequence[dict[str, str]]) -> ChatReply:
        """The model's reply to `messages`; LLMError when the endpoint cannot give one.

        Timeouts, refused connections and 5xx answers are retried after `backoff` seconds,
        doubled each time: a server that is loading a model or restarting often answers a
        moment later. A 4xx is not retried: the same request would be refused again.
        """
        config = self.config
        payload = {
            "model": config.model,
            "messages": list(messages),
            "temperature": config.temperature,
            "max_tokens": config.max_tokens,
            "stream": False,
        }
        attempts = config.retries + 1
        problem = ""
        with httpx.Client(
            timeout=config.timeout, headers=self.headers(), verify=self.tls
        ) as client:
            for attempt in range(1, attempts + 1):
                if attempt > 1:
                    self.sleep(config.backoff * 2 ** (attempt - 2))
                try:
                    response = client.post(self.endpoint, json=payload)
                except httpx.TimeoutException:
                    problem = f"no reply within llm.timeout = {config.timeout:g} s"
                    continue
                except httpx.TransportError as error:
                    problem = f"cannot connect: {error}"
                    continue
                if response.status_code >= HTTP_SERVER_ERROR:
                    problem = f"HTTP {response.status_code}: {self.snippet(response.text)}"
                    continue
                if response.status_code >= HTTP_CLIENT_ERROR:
                    raise LLMError(self.refused(response))
                return ChatReply(self.reply_text(response), attempt)
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        raise LLMError(
            f"the language model at {self.endpoint} did not answer ({problem}; {tries}): start "
            "the server (for example `ollama serve`) or point LLM_BASE_URL at a running one, or "
            'set llm.fallback = "extractive" to answer without it.'
        )

    def refused(self, response: httpx.Response) -> str:
        """The one-line error for a 4xx: what the server said, and the setting that fixes it."""
        status = response.status_code
        if status in UNAUTHORIZED:
            # The body can echo part of the key: it is not shown.
            return (
                f"the language model at {self.endpoint} refused the API key (HTTP {status}): "
                "set LLM_API_KEY to a valid key (local servers need none: leave it unset)."
            )
        return (
            f"the language model at {self.endpoint} refused the request (HTTP {status}: "
            f"{self.server_said(response)}): check LLM_MODEL ({self.config.model!r}: is that "
            "model served or pulled?) and that LLM_BASE_URL is the API root, ending in /v1."
        )

    def reply_text(self, response: httpx.Response) -> str:
        """choices[0].message.content of a chat completion; LLMError for anything else."""
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except ValueError:
            problem = f"not JSON: {self.snippet(response.text)}"
        except (KeyError, IndexError, TypeError):
            problem = f"no choices[0].message.content in {self.snippet(response.text)}"
        else:
            if isinstance(content, str):
                return content
            problem = f"the message content is {type(content).__name__}, not text"
        raise LLMError(
            f"the language model at {self.endpoint} answered with something other than a chat "
            f"completion ({problem}): check that LLM_BASE_URL is the API root of an "
            "OpenAI-compatible server, ending in /v1."
        )

    def server_said(self, response: httpx.Response) -> str:
        """The error message of an OpenAI-style error body ({"error": {"message": ...}}), else
        the body's start."""
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = None
        return self.snippet(message if isinstance(message, str) else response.text)

    def snippet(self, text: str) -> str:
        """A reply's start on one line, with the API key masked should the server echo it."""
        one_line = " ".join(text.split())
        key = self.config.api_key.get_secret_value()
        if key:
            one_line = one_line.replace(key, "***")
        if len(one_line) > SNIPPET_CHARS:
            one_line = one_line[:SNIPPET_CHARS] + "…"
        return f'"{one_line}"'
