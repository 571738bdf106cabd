"""Whoosh's segment files read in place from their memory map, not copied.

Whoosh opens each file inside a compound segment (terms, postings, stored
fields, field lengths) as a ``BufferFile`` over a slice of the mapped
segment, and ``BufferFile.__init__`` wraps the slice in ``BytesIO``, which
copies it: a 140 MB segment was copied before the first search, doubling the
reader's memory. :func:`install` swaps in :class:`MappedBufferFile`, which
reads the same bytes from the map.
"""

from __future__ import annotations

from whoosh.filedb import compound as _whoosh_compound
from whoosh.filedb.structfile import BufferFile

__all__ = ["MappedBufferFile", "MemoryFile", "install"]


class MemoryFile:
    """A read-only file over a memoryview: seek, tell, read, readline, readinto.

    Stands in for the ``BytesIO`` copy described at :class:`MappedBufferFile`.
    ``read`` returns bytes, as ``BytesIO.read`` does.
    """

    __slots__ = ("_buf", "_len", "_pos")

    def __init__(self, buf) -> None:
        self._buf = buf
        self._pos = 0
        self._len = len(buf)

    def read(self, n: int | None = -1) -> bytes:
        pos = self._pos
        end = self._len if n is None or n < 0 else min(self._len, pos + n)
        if end <= pos:
            return b""
        self._pos = end
        return bytes(self._buf[pos:end])

    def readinto(self, b) -> int:
        data = self.read(len(b))
        n = len(data)
        memoryview(b).cast("B")[:n] = data
        return n

    def readline(self, limit: int | None = -1) -> bytes:
        pos = self._pos
        end = self._len if limit is None or limit < 0 else min(self._len, pos + limit)
        if end <= pos:
            return b""
        i = find_newline(self._buf[pos:end])
        stop = end if i < 0 else pos + i + 1
        self._pos = stop
        return bytes(self._buf[pos:stop])

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0 and pos < 0:
            raise ValueError(f"negative seek value {pos}")
        if whence == 1:
            pos += self._pos
        elif whence == 2:
            pos += self._len
        self._pos = max(0, pos)  # as BytesIO: a relative seek stops at the start
        return self._pos

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._buf = memoryview(b"")
        self._len = self._pos = 0


def find_newline(chunk) -> int:
    """Index of the first newline in a (large) memoryview, read in pieces, or -1."""
    step = 4096
    for off in range(0, len(chunk), step):
        i = bytes(chunk[off : off + step]).find(b"\n")
        if i >= 0:
            return off + i
    return -1


class MappedBufferFile(BufferFile):
    """Whoosh's ``BufferFile``, without copying the file it reads.

    Whoosh opens each file inside a segment (terms, postings, stored fields,
    field lengths) as a ``BufferFile`` over a slice of the memory-mapped
    segment, and ``BufferFile.__init__`` wraps the slice in ``BytesIO(buf)``,
    which *copies* it: opening a 140 MB segment copied about that much before
    the first search, and doubled the reader's memory. This subclass reads the
    mapped memory in place instead; every read returns the same bytes.
    """

    def __init__(self, buf, name=None, onclose=None) -> None:
        self._buf = buf
        self._name = name
        self.file = MemoryFile(buf)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    def subset(self, position, length, name=None):
        return MappedBufferFile(self.get(position, length), name=name or self._name)


def install() -> None:
    """Make Whoosh open the files inside a segment with :class:`MappedBufferFile`.

    A process-wide patch of ``whoosh.filedb.compound`` (idempotent): every
    index this process opens reads its segments in place.
    """
    _whoosh_compound.BufferFile = MappedBufferFile
