"""The API's request and response bodies; the request limits come from the settings at start-up."""

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, GetPydanticSchema, create_model, field_validator
from pydantic_core import PydanticCustomError

from .config import ApiSettings
from .records import Answer, Hit

# Strict: `"5"` is not 5 and a misspelt field is an error, not silently ignored.
STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)
# What a question must hold: a character other than NUL and ASCII white space, and no NUL at all.
# `plain_text` checks it with messages a person can act on; the pattern tells the API's schema.
# The characters are listed rather than written \s, which JSON Schema and Python read apart.
TEXT_PATTERN = r"^[^\x00]*[^\x00\t\n\v\f\r ][^\x00]*$"
VISIBLE = re.compile(r"[^\x00\t\n\v\f\r ]")


class ErrorBody(BaseModel):
    """Why a request was refused."""

    detail: str


class UploadRefusal(BaseModel):
    """Why an upload was refused: a file named with what is wrong with it, or the form's errors."""

    detail: str | list[dict[str, Any]]
    message: str = ""


def plain_text(value: str) -> str:
    """Refuse blank text, and NUL, which PostgreSQL cannot store (pydantic refuses surrogates)."""
    # Custom error types: the message is shown as written, without "Value error, ".
    if not VISIBLE.search(value):
        raise PydanticCustomError("blank_text", "must hold a word, not only white space")
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "must not contain NUL characters (\\u0000)")
    return value


def whole_number(value: object) -> object:
    """5.0 as 5: JSON Schema counts it as an integer. Text ("5") and true stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class SearchRequest(BaseModel):
    """Find the passages for a query."""

    model_config = STRICT

    query: str
    top_k: int

    @field_validator("query")
    @classmethod
    def query_is_text(cls, value: str) -> str:
        return plain_text(value)

    @field_validator("top_k", mode="before")
    @classmethod
    def top_k_is_whole(cls, value: object) -> object:
        return whole_number(value)


class AskRequest(BaseModel):
    """Answer a question from the passages found for it."""

    model_config = STRICT

    question: str
    top_k: int

    @field_validator("question")
    @classmethod
    def question_is_text(cls, value: str) -> str:
        return plain_text(value)

    @field_validator("top_k", mode="before")
    @classmethod
    def top_k_is_whole(cls, value: object) -> object:
        return whole_number(value)


@dataclass(frozen=True)
class RequestSchemas:
    """The request models with this deployment's limits (MAX_QUESTION_CHARS, MAX_TOP_K).

    Routes are declared with the base classes, which a type checker can follow; the annotations
    here tell FastAPI to validate and document with the bounded subclasses.
    """

    search: type[SearchRequest]
    ask: type[AskRequest]

    @property
    def search_schema(self) -> GetPydanticSchema:
        return GetPydanticSchema(lambda _source, handler: handler(self.search))

    @property
    def ask_schema(self) -> GetPydanticSchema:
        return GetPydanticSchema(lambda _source, handler: handler(self.ask))


def request_schemas(api: ApiSettings, default_top_k: int) -> RequestSchemas:
    """Search and ask bodies that refuse a blank or too long text and a top_k out of bounds."""
    top_k_field = (
        int,
        Field(
            default=min(default_top_k, api.max_top_k),
            ge=1,
            le=api.max_top_k,
            description=f"How many passages to return, 1 to {api.max_top_k} (MAX_TOP_K).",
        ),
    )

    def text_field(what: str) -> tuple[type[str], object]:
        return (
            str,
            Field(
                min_length=1,
                max_length=api.max_question_chars,
                json_schema_extra={"pattern": TEXT_PATTERN},
                description=f"The {what}: up to {api.max_question_chars:,} characters "
                "(MAX_QUESTION_CHARS).",
            ),
        )

    search = create_model(
        "SearchRequest",
        __base__=SearchRequest,
        query=text_field("words to search for"),
        top_k=top_k_field,
    )
    ask = create_model(
        "AskRequest", __base__=AskRequest, question=text_field("question"), top_k=top_k_field
    )
    return RequestSchemas(search=search, ask=ask)


class Passage(BaseModel):
    """One retrieved passage: where it comes from, its text and its score."""

    id: str = Field(description="The chunk id; an answer's citations name these.")
    source: str = Field(description="The file it comes from, relative to the corpus.")
    title: str
    section: str = Field(description="source#heading: the section the passage belongs to.")
    text: str
    score: float = Field(description="The last ranking stage's score; higher is better.")

    @classmethod
    def of(cls, hit: Hit) -> "Passage":
        chunk = hit.chunk
        return cls(
            id=chunk.chunk_id,
            source=chunk.source,
            title=chunk.title,
            section=chunk.section_id,
            text=chunk.text,
            score=hit.score,
        )


class SearchResponse(BaseModel):
    results: list[Passage]
    timings_ms: dict[str, float] = Field(description="retrieve, rerank (when on) and total.")


class Source(Passage):
    """A passage shown with an answer; `number` is the n of its [n] in the answer's text."""

    number: int
    cited: bool


class AskResponse(BaseModel):
    answer: str = Field(description='With [n] citations, or the "I don\'t know" sentence.')
    citations: list[str] = Field(description="The ids of the passages the answer cites.")
    sources: list[Source]
    abstained: bool = Field(description="True when the passages did not support an answer.")
    generator: str = Field(description="extractive, or llm when a language model wrote it.")
    flags: list[str] = Field(description="Warnings, such as a possible prompt injection.")
    timings_ms: dict[str, float] = Field(description="retrieve, rerank, generate and total.")

    @classmethod
    def of(cls, answer: Answer, timings_ms: dict[str, float]) -> "AskResponse":
        cited = {citation.number for citation in answer.citations}
        sources = [
            Source(**Passage.of(hit).model_dump(), number=number, cited=number in cited)
            for number, hit in enumerate(answer.passages, start=1)
        ]
        return cls(
            answer=answer.text,
            citations=[citation.chunk_id for citation in answer.citations],
            sources=sources,
            abstained=answer.abstained,
            generator=answer.generator,
            flags=list(answer.flags),
            timings_ms=timings_ms,
        )


class IngestResponse(BaseModel):
    """What an upload changed in the index."""

    added: int = Field(description="Documents the index did not hold.")
    updated: int = Field(description="Documents uploaded again with other contents.")
    unchanged: int = Field(description="Documents uploaded again with the same bytes.")
    chunks: int = Field(description="Chunks in the index after the upload.")
    documents: list[str] = Field(description="The names the uploads are indexed under.")
    skipped: list[dict[str, str]] = Field(
        default_factory=list,
        description="Uploads not indexed, with why: a file with the same bytes as another one.",
    )


class Readiness(BaseModel):
    """`ready` once the index is open; otherwise why not."""

    status: str
    detail: str = ""
    documents: int = 0
    chunks: int = 0
