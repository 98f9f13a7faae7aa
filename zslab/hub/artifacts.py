"""The content-addressed store for run artifacts: a blob lives under its own sha256.

>>> store = ArtifactStore("/tmp/zslab-doc/artifacts")
>>> digest, size = store.put([b"hello"])
>>> with store.open(digest) as fh:
...     fh.read()
b'hello'

The root is a local directory (a plain path or ``file://…``, the default
``$ZSLAB_HOME/artifacts``) or any fsspec URL (``s3://bucket/zslab``, ``memory://zslab``), set
with ``ZSLAB_ARTIFACTS_URL``; :meth:`ArtifactStore.from_settings` picks it.

Layout: ``<root>/sha256/<aa>/<bb>/<full hash>``. A blob is written to a temporary file, hashed
while it streams, and only then placed under its hash, so a reader never sees a partial or a
wrong blob. Locally the temporary file lives in ``<root>/tmp``, is fsynced and renamed into
place, so a crash leaves at most a stray temporary file. For a remote root it lives in the
system's temporary directory and is uploaded straight to its final key once the hash is known
(no temporary key and rename: content addressing makes the final key safe to write). The same
bytes stored twice (two runs with one checkpoint) are stored once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from zslab.errors import InvalidInput, PayloadTooLarge, StorageUnavailable

if TYPE_CHECKING:
    from zslab.config import Settings

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
        if self._store.is_local:  # a remote blob's durability is the upload's
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
        try:
            self._store._place(self._tmp, digest)
        finally:
            self._tmp.unlink(missing_ok=True)
        return digest, self.size

    def abort(self) -> None:
        """Drop the partial blob."""
        with contextlib.suppress(OSError):
            self._file.close()
        self._tmp.unlink(missing_ok=True)


class ArtifactStore:
    """Blobs under a local directory or an fsspec URL, addressed by their sha256.

    >>> ArtifactStore("memory://zslab-doc").local_path("0" * 64) is None
    True

    See the module docstring for the layout and how a blob is written.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.url = os.fspath(root)
        self._local: Path | None = None
        self._fs: Any = None  # an fsspec AbstractFileSystem for a remote root
        self._remote_root = ""
        if "://" not in self.url and "::" not in self.url:
            self._local = Path(self.url)  # a plain path: no fsspec on the default path
            return
        fs, path = _url_to_fs(self.url)
        from fsspec.implementations.local import LocalFileSystem

        if isinstance(fs, LocalFileSystem):  # file://…
            self._local = Path(path)
        else:
            self._fs = fs
            self._remote_root = path.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> ArtifactStore:
        """The hub's store: ``ZSLAB_ARTIFACTS_URL`` when set, else ``<home>/artifacts``."""
        return cls(settings.artifacts_url or settings.artifacts_dir)

    @property
    def is_local(self) -> bool:
        return self._local is not None

    @property
    def root(self) -> Path:
        """The local directory of the store (a remote store has none: ValueError)."""
        if self._local is None:
            raise ValueError(
                f"The artifact store {self.url} is remote: it has no local directory; "
                "use open(), exists() and size(), or local_path() which gives None."
            )
        return self._local

    @property
    def tmp_dir(self) -> Path:
        """Where blobs are written before they are placed under their hash."""
        if self._local is None:
            return Path(tempfile.gettempdir())
        return self._local / "tmp"

    def path(self, sha256: str) -> Path:
        """Where the blob with this hash lives locally (whether or not it exists).

        Local stores only; :meth:`local_path` is the form that works on any store.
        """
        return self.root / _relative(sha256)

    def local_path(self, sha256: str) -> Path | None:
        """The blob's local path (whether or not it exists), or None for a remote store."""
        if self._local is None:
            _relative(sha256)  # validate the hash all the same
            return None
        return self._local / _relative(sha256)

    def exists(self, sha256: str) -> bool:
        if self._local is None:
            return bool(self._fs.isfile(self._key(sha256)))
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        """The blob's size in bytes; FileNotFoundError when it is not stored."""
        if self._local is None:
            return int(self._fs.size(self._key(sha256)))
        return self.path(sha256).stat().st_size

    def open(self, sha256: str) -> BinaryIO:
        """The blob for reading; FileNotFoundError when it is not stored."""
        if self._local is None:
            handle: BinaryIO = self._fs.open(self._key(sha256), "rb")
            return handle
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

    def _key(self, sha256: str) -> str:
        return f"{self._remote_root}/{_relative(sha256).as_posix()}"

    def _place(self, tmp: Path, sha256: str) -> None:
        """Put the finished temporary file ``tmp`` under its hash (kept where it was stored)."""
        if self._local is None:
            key = self._key(sha256)
            try:
                if not self._fs.exists(key):
                    self._fs.makedirs(posixpath.dirname(key), exist_ok=True)
                    self._fs.put_file(str(tmp), key)
            except OSError as exc:
                raise StorageUnavailable(
                    f"Could not store blob {sha256} in the artifact store {self.url}: {exc}.",
                    fix="Check that the store is reachable and writable, then upload again.",
                ) from exc
            return
        target = self.path(sha256)
        if target.exists():  # stored before: keep the existing copy
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
        _fsync_dir(target.parent)


def _relative(sha256: str) -> Path:
    """``sha256/<aa>/<bb>/<hash>``, the blob's place under the root."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a lower-case hex sha256: {sha256!r}")
    return Path("sha256", sha256[:2], sha256[2:4], sha256)


def _url_to_fs(url: str) -> tuple[Any, str]:
    """fsspec's filesystem and path for ``url``, with a fix when fsspec cannot open it."""
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(url)
    except (ValueError, ImportError) as exc:
        raise InvalidInput(
            f"The artifact store URL {url!r} cannot be opened: {exc}.",
            field="ZSLAB_ARTIFACTS_URL",
            fix="Set ZSLAB_ARTIFACTS_URL to a local path or an fsspec URL whose protocol is "
            "installed (s3:// needs s3fs, gs:// gcsfs), or unset it to use <home>/artifacts.",
        ) from exc
    return fs, str(path)


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
