"""The content-addressed store for run artifacts: a blob lives under its own sha256.

>>> store = ArtifactStore("/tmp/zslab-doc/artifacts")
>>> digest, size = store.put([b"hello"])
>>> store.path(digest).read_bytes()
b'hello'

Layout: ``<root>/sha256/<aa>/<bb>/<full hash>``. A blob is written to a temporary file in
``<root>/tmp``, hashed while it streams, fsynced, then renamed into place, so a reader never
sees a partial blob and a crash leaves at most a stray temporary file. The same bytes stored
twice (two runs with one checkpoint) occupy the disk once.

Only a local directory is supported as the root; an fsspec URL (``s3://…``) is not (yet).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from zslab.errors import InvalidInput, PayloadTooLarge

__all__ = ["ArtifactStore", "BlobWriter"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobWriter:
    """One blob being written: :meth:`write` chunks, then :meth:`commit` (or :meth:`abort`).

    Used directly by callers that receive chunks asynchronously (the hub's upload route);
    :meth:`ArtifactStore.put` wraps it for an iterable of chunks.
    """

    def __init__(self, store: ArtifactStore, *, max_bytes: int | None = None) -> None:
        self._store = store
        self._max_bytes = max_bytes
        self._hash = hashlib.sha256()
        self.size = 0
        store.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="blob-", dir=store.tmp_dir)
        self._tmp = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._max_bytes is not None and self.size > self._max_bytes:
            self.abort()
            raise PayloadTooLarge(
                f"The artifact is over {self._max_bytes} bytes, the most this hub stores.",
                field="body",
                fix="Store a smaller file, or raise ZSLAB_MAX_ARTIFACT_BYTES on the hub.",
                max_bytes=self._max_bytes,
            )
        self._hash.update(chunk)
        self._file.write(chunk)

    def commit(self, *, expected_sha256: str | None = None) -> tuple[str, int]:
        """Make the blob durable under its hash; returns ``(sha256, size)``.

        With ``expected_sha256``, bytes that hash otherwise are dropped with 422.
        """
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = self._hash.hexdigest()
        if expected_sha256 is not None and expected_sha256.lower() != digest:
            self.abort()
            raise InvalidInput(
                f"The bytes received hash to {digest}, not the sha256 {expected_sha256} sent "
                "with them: the upload was damaged.",
                field="X-Content-SHA256",
                fix="Upload the file again.",
            )
        target = self._store.path(digest)
        if target.exists():  # stored before: keep the existing copy
            self._tmp.unlink(missing_ok=True)
            return digest, self.size
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._tmp, target)
        _fsync_dir(target.parent)
        return digest, self.size

    def abort(self) -> None:
        """Drop the partial blob."""
        with contextlib.suppress(OSError):
            self._file.close()
        self._tmp.unlink(missing_ok=True)


class ArtifactStore:
    """Blobs under ``root`` addressed by their sha256 (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def path(self, sha256: str) -> Path:
        """Where the blob with this hash lives (whether or not it exists)."""
        if not _SHA256.match(sha256):
            raise ValueError(f"not a lower-case hex sha256: {sha256!r}")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        """The blob for reading; FileNotFoundError when it is not stored."""
        return self.path(sha256).open("rb")

    def writer(self, *, max_bytes: int | None = None) -> BlobWriter:
        """A writer for one new blob; over ``max_bytes`` it aborts with 413."""
        return BlobWriter(self, max_bytes=max_bytes)

    def put(
        self,
        stream: Iterable[bytes] | BinaryIO,
        *,
        max_bytes: int | None = None,
        expected_sha256: str | None = None,
    ) -> tuple[str, int]:
        """Store the bytes of ``stream`` (chunks, or a binary file); returns (sha256, size)."""
        writer = self.writer(max_bytes=max_bytes)
        read = getattr(stream, "read", None)
        chunks: Iterable[bytes] = iter(lambda: read(1 << 20), b"") if read else stream
        try:
            for chunk in chunks:
                writer.write(chunk)
            return writer.commit(expected_sha256=expected_sha256)
        except BaseException:
            writer.abort()
            raise


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
