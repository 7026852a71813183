"""The index in PostgreSQL: pgvector's HNSW for dense search, full-text search for lexical.

The same `Store` protocol as the embedded store (store.py), so ingest, retrieval and evaluation
do not know which one they talk to. Fusion of the two rankings stays in retrieve.py. The schema
comes from the numbered SQL files in migrations/, applied in order and recorded (`migrate`).
"""

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from .errors import UserError
from .records import Chunk, Hit, ParsedDocument
from .store import (
    IndexMetadata,
    Vectors,
    indexed_text,
    mismatch_message,
    tokenize,
)

if TYPE_CHECKING:
    from .config import StoreConfig

CHUNK_COLUMNS = (
    "id, chunk_id, source, title, section_id, heading_path, text, start_char, end_char, page, "
    "content_hash"
)
MIGRATION_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")
HNSW_INDEX = "chunks_embedding_hnsw"
# Any two processes migrating the same database take turns on this lock (pg_advisory_xact_lock).
MIGRATION_LOCK = 8_412_001


def packaged_migrations() -> Traversable:
    return resources.files(__package__ or __name__.rpartition(".")[0]) / "migrations"


def where_is(url: str) -> str:
    """host:port/database of a connection URL, without the user or the password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the database in DATABASE_URL"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"PostgreSQL at {host}:{port}/{parts.get('dbname') or '(default database)'}"


def connect(url: str) -> psycopg.Connection[Any]:
    """A connection, or a one-line UserError that says what is wrong and how to fix it."""
    if not url:
        raise UserError(
            "store.kind = 'postgres' needs a database: set DATABASE_URL="
            "postgresql://user:password@host:5432/database (environment or .env), or use "
            "store.kind=embedded."
        )
    try:
        return psycopg.connect(url, connect_timeout=10)
    except psycopg.Error as error:
        # The first line says why (refused, unknown host, bad password) and holds no password.
        lines = str(error).strip().splitlines()
        reason = lines[0] if lines else type(error).__name__
        raise UserError(
            f"cannot connect to {where_is(url)} ({reason}): start the server, or fix "
            "DATABASE_URL (postgresql://user:password@host:5432/database)."
        ) from None


def ensure_vector_extension(connection: psycopg.Connection[Any], where: str) -> None:
    """pgvector must be installed on the server; creating it in the database needs rights."""
    available = connection.execute(
        "SELECT installed_version FROM pg_available_extensions WHERE name = 'vector'"
    ).fetchone()
    if available is None:
        raise UserError(
            f"{where} has no pgvector (the vector extension is not installed on the server): "
            "install pgvector (https://github.com/pgvector/pgvector#installation) or use an "
            "image that has it, such as pgvector/pgvector."
        )
    try:
        if available[0] is None:
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        # Ends the transaction the checks opened: migrate() must start on an idle connection.
        connection.commit()
    except errors.InsufficientPrivilege:
        connection.rollback()
        raise UserError(
            f"{where} has pgvector, but this user may not enable it: ask the database owner to "
            "run `CREATE EXTENSION vector;` in that database once."
        ) from None


def migrate(connection: psycopg.Connection[Any], folder: Traversable | None = None) -> list[int]:
    """Apply the numbered SQL files that this database has not seen; returns their numbers.

    Each file runs in its own transaction with its row in schema_migrations, so a failing file
    leaves the database at the previous version, never half-way.
    """
    files = migration_files(folder or packaged_migrations())
    if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        # Inside an open transaction `transaction()` would only be a savepoint, left uncommitted.
        message = "migrate() needs a connection outside a transaction: commit first"
        raise RuntimeError(message)
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        newest = max(files, default=0)
        if done and max(done) > newest:
            raise UserError(
                f"the database's schema is at migration {max(done)}, this code knows up to "
                f"{newest}: upgrade the project, or point DATABASE_URL at another database."
            )
        applied = []
        for version, file in sorted(files.items()):
            if version in done:
                continue
            # The whole file at once: psycopg sends it as one simple query.
            connection.execute(file.read_text(encoding="utf-8").encode())
            connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (version, file.name),
            )
            applied.append(version)
    return applied


def migration_files(folder: Traversable) -> dict[int, Traversable]:
    files: dict[int, Traversable] = {}
    for item in folder.iterdir():
        match = MIGRATION_NAME.match(item.name)
        if match:
            files[int(match.group(1))] = item
    return files


class PgVectorStore(IndexMetadata):
    """Chunks in PostgreSQL; dense search through an HNSW index, lexical through tsvector.

    Writes are one transaction, committed by `save()` as the embedded store's are; `close()`
    without `save()` leaves the database as it was.
    """

    def __init__(self, config: "StoreConfig") -> None:
        self.config = config
        self.location = where_is(config.url())
        self.db = connect(config.url())
        try:
            ensure_vector_extension(self.db, self.location)
            migrate(self.db)
            register_vector(self.db)
            self.db.commit()
        except BaseException:
            self.db.close()
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def end_reads(self) -> None:
        """End the transaction that reads opened: a connection kept open between searches (the
        API's) must hold no lock, or a schema change by another connection waits on it."""
        self.db.rollback()

    def save(self) -> None:
        """Build the HNSW index if the vectors have none yet, then commit everything."""
        if self.dimension() and not self.has_hnsw_index():
            # Built once over the rows already there: far faster than growing it row by row.
            # A graph larger than maintenance_work_mem (64 MB by default) builds many times
            # slower; 100k MiniLM vectors need about 200 MB.
            self.db.execute("SELECT set_config('maintenance_work_mem', '1GB', true)")
            self.db.execute(
                sql.SQL(
                    "CREATE INDEX {} ON chunks USING hnsw (embedding vector_cosine_ops) "
                    "WITH (m = {}, ef_construction = {})"
                ).format(
                    sql.Identifier(HNSW_INDEX),
                    sql.Literal(self.config.hnsw_m),
                    sql.Literal(self.config.hnsw_ef_construction),
                )
            )
        # A serving API reopens the index when this changes, as with the embedded store.
        self.set_meta("generation", str(int(self.meta("generation") or 0) + 1))
        self.db.commit()

    def has_hnsw_index(self) -> bool:
        found = self.db.execute("SELECT to_regclass(%s)", (HNSW_INDEX,)).fetchone()
        return found is not None and found[0] is not None

    def dimension(self) -> int:
        """The embedding column's dimension; 0 while it has none (no vectors, or not yet)."""
        row = self.db.execute(
            "SELECT atttypmod FROM pg_attribute "
            "WHERE attrelid = 'chunks'::regclass AND attname = 'embedding'"
        ).fetchone()
        return max(int(row[0]), 0) if row else 0

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def use_embedder(self, name: str | None, dim: int) -> None:
        """Record the embedder of the coming writes and give the vector column its dimension."""
        if self.count() and self.embedder_name() != name:
            raise UserError(mismatch_message(self.location, self.embedder_name(), name))
        self.set_meta("embedder", name or "")
        self.set_meta("dim", str(dim if name else 0))
        if name and self.dimension() != dim:
            # Only an empty table gets here (another embedder needs --rebuild, which clears it).
            self.db.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(HNSW_INDEX)))
            self.db.execute(
                sql.SQL("ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({})").format(
                    sql.Literal(dim)
                )
            )

    def count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM chunks").fetchone()
        return int(row[0]) if row else 0

    def file_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT source, file_hash FROM documents").fetchall())

    def known_contents(self, content_hashes: Iterable[str]) -> set[str]:
        wanted = list(set(content_hashes))
        rows = self.db.execute(
            "SELECT DISTINCT content_hash FROM chunks WHERE content_hash = ANY(%s)", (wanted,)
        )
        return {value for (value,) in rows}

    def upsert(
        self,
        document: ParsedDocument,
        chunks: Sequence[Chunk],
        vectors: Vectors | None,
        duplicates: Iterable[str] = (),
    ) -> list[str]:
        """Replace a document's chunks; returns other sources to parse again (see `delete`).

        A chunk whose content the index already holds (from another file) is not stored again.
        """
        embedder = self.embedder_name()
        if (vectors is None) != (embedder is None):
            requested = None if vectors is None else "an embedder"
            raise UserError(mismatch_message(self.location, embedder, requested))
        if vectors is not None:
            self.check_dimension(vectors, len(chunks))
        reparse = self.delete([document.source])
        known = self.known_contents(chunk.content_hash for chunk in chunks)
        keep = [index for index, chunk in enumerate(chunks) if chunk.content_hash not in known]
        repeated = {chunk.content_hash for chunk in chunks} & known
        self.db.execute(
            "INSERT INTO documents (source, title, file_hash) VALUES (%s, %s, %s)",
            (document.source, document.title, document.file_hash),
        )
        with self.db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO duplicates (content_hash, source) VALUES (%s, %s)",
                [(content, document.source) for content in sorted(repeated | set(duplicates))],
            )
            cursor.executemany(
                "INSERT INTO chunks (chunk_id, source, title, section_id, heading_path, text, "
                "start_char, end_char, page, content_hash, indexed_text, embedding) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        *chunk_values(chunks[index]),
                        None if vectors is None else vectors[index].astype(np.float32),
                    )
                    for index in keep
                ],
            )
        return reparse

    def check_dimension(self, vectors: Vectors, rows: int) -> None:
        if vectors.ndim != 2 or len(vectors) != rows:  # noqa: PLR2004 - a matrix
            message = f"{rows} chunks, {len(vectors)} vectors: one vector per chunk"
            raise ValueError(message)
        if vectors.shape[1] != self.dimension():
            raise UserError(
                f"the index in {self.location} holds vectors of {self.dimension()} dimensions "
                f"and the embedder gives {vectors.shape[1]}: run `ingest --rebuild`, or set "
                "embeddings.model back."
            )

    def delete(self, sources: Iterable[str]) -> list[str]:
        """Remove documents and their chunks; returns the other sources that must be re-parsed.

        Those are files whose chunks were skipped as duplicates of a removed chunk.
        """
        pending = list(dict.fromkeys(sources))
        removed: set[str] = set()
        reparse: list[str] = []
        while pending:
            source = pending.pop()
            if source in removed:
                continue
            removed.add(source)
            lost = [
                value
                for (value,) in self.db.execute(
                    "DELETE FROM chunks WHERE source = %s RETURNING content_hash", (source,)
                )
            ]
            self.db.execute("DELETE FROM documents WHERE source = %s", (source,))
            self.db.execute("DELETE FROM duplicates WHERE source = %s", (source,))
            others = self.db.execute(
                "SELECT DISTINCT source FROM duplicates WHERE content_hash = ANY(%s) "
                "ORDER BY source",
                (lost,),
            ).fetchall()
            for (other,) in others:
                if other not in removed:
                    reparse.append(other)
                    pending.append(other)
        return list(dict.fromkeys(reparse))

    def clear(self) -> None:
        """Empty the index (`ingest --rebuild`); the next embedder may have another dimension."""
        self.db.execute("TRUNCATE chunks, documents, duplicates, meta")
        self.db.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(HNSW_INDEX)))
        self.db.execute("ALTER TABLE chunks ALTER COLUMN embedding TYPE vector")

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        rows = self.db.execute(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE chunk_id = ANY(%s)", (list(ids),)
        )
        found = {chunk.chunk_id: chunk for chunk in map(to_chunk, rows)}
        return [found[chunk_id] for chunk_id in ids if chunk_id in found]

    def all_chunks(self) -> list[Chunk]:
        rows = self.db.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks ORDER BY id")
        return [to_chunk(row) for row in rows]

    def dense_search(self, vector: Vectors, k: int, source_prefix: str = "") -> list[Hit]:
        """The k chunks nearest an L2-normalised query vector (cosine), through HNSW."""
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        dimension = self.dimension()
        if not dimension:
            raise UserError(
                f"the index in {self.location} holds no vectors (it was built for BM25 only): "
                "use retrieval.mode=bm25, or re-ingest with `ingest --rebuild` and an embedder."
            )
        if query.shape[0] != dimension:
            raise UserError(mismatch_message(self.location, self.embedder_name(), "another one"))
        with self.search_settings(k):
            rows = self.db.execute(
                dense_query(source_prefix),
                {"query": query, "k": k, "prefix": like_prefix(source_prefix)},
            ).fetchall()
        # relaxed_order may return neighbours slightly out of order: the scores put them right.
        hits = [Hit(to_chunk(row), float(row[-1]), "dense") for row in rows]
        return sorted(hits, key=lambda hit: -hit.score)

    @contextmanager
    def search_settings(self, k: int) -> Iterator[None]:
        """HNSW's query-time settings for this transaction only (SET LOCAL)."""
        # ef_search below k caps the result at ef_search rows: pgvector's docs ask for >= k.
        settings = {"hnsw.ef_search": str(max(self.config.hnsw_ef_search, k))}
        if self.config.iterative_scan:
            settings["hnsw.iterative_scan"] = "relaxed_order"
            settings["hnsw.max_scan_tuples"] = str(self.config.max_scan_tuples)
        else:
            settings["hnsw.iterative_scan"] = "off"
        with self.db.transaction():
            for name, value in settings.items():
                self.db.execute("SELECT set_config(%s, %s, true)", (name, value))
            yield

    def lexical_search(self, query: str, k: int, source_prefix: str = "") -> list[Hit]:
        """The k chunks that best match the query's words, by PostgreSQL's full-text rank.

        Any word may match (OR), as in BM25. ts_rank with normalisation 1 (divided by 1 + the
        log of the chunk's length) ranked the bundled test split as BM25 does (recall@5 0.811
        both); ts_rank_cd, which rewards words close together, fell to 0.644.
        """
        words = tokenize(query)
        if not words:
            return []
        rows = self.db.execute(
            f"SELECT {CHUNK_COLUMNS}, ts_rank(lexemes, terms, 1) AS score "
            "FROM chunks, websearch_to_tsquery('english', %(terms)s) AS terms "
            f"WHERE lexemes @@ terms AND {prefix_condition(source_prefix)} "
            "ORDER BY score DESC, id LIMIT %(k)s",
            # websearch syntax: `a or b` matches either word; the words are \w+ only.
            {"terms": " or ".join(words), "k": k, "prefix": like_prefix(source_prefix)},
        ).fetchall()
        return [Hit(to_chunk(row), float(row[-1]), "bm25") for row in rows]


def dense_query(source_prefix: str) -> str:
    """Nearest first by cosine distance: the ORDER BY ... LIMIT shape that HNSW answers."""
    return (
        f"SELECT {CHUNK_COLUMNS}, 1 - (embedding <=> %(query)s) AS score FROM chunks "
        f"WHERE {prefix_condition(source_prefix)} "
        "ORDER BY embedding <=> %(query)s LIMIT %(k)s"
    )


def prefix_condition(source_prefix: str) -> str:
    return "source LIKE %(prefix)s" if source_prefix else "TRUE"


def like_prefix(prefix: str) -> str:
    """A LIKE pattern for paths that start with `prefix` (its own % and _ match themselves)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def chunk_values(chunk: Chunk) -> tuple[object, ...]:
    return (
        chunk.chunk_id,
        chunk.source,
        chunk.title,
        chunk.section_id,
        json.dumps(chunk.heading_path, ensure_ascii=False),
        chunk.text,
        chunk.start,
        chunk.end,
        chunk.page,
        chunk.content_hash,
        indexed_text(chunk),
    )


def to_chunk(record: Sequence[Any]) -> Chunk:
    (_, chunk_id, source, title, section_id, heading_path, text, start, end, page, content) = (
        record[:11]
    )
    return Chunk(
        chunk_id=chunk_id,
        source=source,
        title=title,
        section_id=section_id,
        heading_path=tuple(json.loads(heading_path)),
        text=text,
        start=int(start),
        end=int(end),
        page=None if page is None else int(page),
        content_hash=content,
    )
