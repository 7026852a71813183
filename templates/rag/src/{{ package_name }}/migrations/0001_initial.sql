-- The index in PostgreSQL: the same tables as the embedded store (store.py), plus the columns
-- PostgreSQL searches by itself. The vector extension is created before this runs (store_pg.py),
-- with a clear message when the database lacks it.

CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);

CREATE TABLE documents (
    source text PRIMARY KEY,
    title text NOT NULL,
    file_hash text NOT NULL
);

CREATE TABLE chunks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chunk_id text NOT NULL UNIQUE,
    source text NOT NULL,
    title text NOT NULL,
    section_id text NOT NULL,
    heading_path text NOT NULL,
    text text NOT NULL,
    start_char integer NOT NULL,
    end_char integer NOT NULL,
    page integer,
    content_hash text NOT NULL,
    -- What BM25 and the embedder see in the embedded store: title and headings, then the text.
    indexed_text text NOT NULL,
    -- Full-text search reads this column, kept up to date by PostgreSQL itself.
    lexemes tsvector GENERATED ALWAYS AS (to_tsvector('english', indexed_text)) STORED,
    -- No dimension yet: the embedder sets it (vector(384) for MiniLM) before the first write,
    -- and the HNSW index is built once the column has one. NULL in an index without vectors.
    embedding vector
);
-- text_pattern_ops: a prefix filter (source LIKE 'guide/%') can use the index.
CREATE INDEX chunks_source ON chunks (source text_pattern_ops);
CREATE INDEX chunks_content ON chunks (content_hash);
CREATE INDEX chunks_lexemes ON chunks USING gin (lexemes);

-- A chunk another file already holds is stored once; this remembers who else had it.
CREATE TABLE duplicates (content_hash text NOT NULL, source text NOT NULL);
CREATE INDEX duplicates_content ON duplicates (content_hash);
