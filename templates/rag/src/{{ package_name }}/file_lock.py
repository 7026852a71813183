"""A lock file that lets many processes read the embedded index while one saves it.

The index is three things on disk: the SQLite database, the vector matrix and the BM25 folder.
A save commits the database, then replaces the other two. A server worker opening the index in
between would pair the new rows with the old vectors ("holds 11 vectors for 10 chunks"). Savers
hold the lock alone; readers share it while they load, so each sees one whole write.
"""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if sys.platform == "win32":

    @contextmanager
    def locked(path: Path, *, exclusive: bool) -> Iterator[None]:  # noqa: ARG001
        """Windows has no `flock`: there, run one process at a time against an index."""
        yield

else:
    import fcntl
    import os

    @contextmanager
    def locked(path: Path, *, exclusive: bool) -> Iterator[None]:
        """Hold `path` locked, shared by readers or `exclusive` to one writer, until the block ends.

        `flock` locks belong to an open file, not to a process: two threads that each open the
        file exclude each other as two processes do, and a crash releases the lock. A reader
        that cannot create the file (a read-only container filesystem) reads without it: where
        nobody can write, there is no save to wait for.
        """
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            if exclusive:
                raise
            try:
                descriptor = os.open(path, os.O_RDONLY)
            except OSError:
                yield
                return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(descriptor)
