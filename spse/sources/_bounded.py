"""Reading archives and compressed formats without letting them expand without bound.

A small download can unpack to gigabytes (a ZIP bomb, a Parquet column of one repeated
value, a compressed NetCDF variable). Every reader of such a format in ``spse/sources``
goes through these helpers, which check what the file declares *before* decompressing
and, for ZIP members, count the bytes while decompressing (declared sizes can lie).
The limits are in the register (``parameters.csv``): ``max_decompressed_bytes``,
``max_compression_ratio``, ``max_decoded_values``; a source may set its own
``max_decompressed_bytes``. Failures are :class:`spse.core.errors.SchemaError` naming the feed,
the file and the limit.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from math import prod

from spse.core import register
from spse.core.errors import SchemaError

ZIP_MAGIC = b"PK\x03\x04"
_READ_BYTES = 1 << 20


def decompressed_cap(cap: int | None = None) -> int:
    """``cap`` [bytes], or the register's ``max_decompressed_bytes`` when ``None``."""
    return int(cap) if cap is not None else register.parameters().int("max_decompressed_bytes")


def open_zip(payload: bytes, feed: str, file: str) -> zipfile.ZipFile:
    """The archive in ``payload``; :class:`SchemaError` when it is not a readable ZIP."""
    if not payload.startswith(ZIP_MAGIC):
        raise SchemaError(feed, f"not a ZIP archive (starts {payload[:16]!r})", file=file)
    try:
        return zipfile.ZipFile(io.BytesIO(payload))
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise SchemaError(feed, f"truncated or damaged ZIP archive ({exc})", file=file) from None


def check_member(archive: zipfile.ZipFile, name: str, feed: str, file: str, cap: int | None = None) -> zipfile.ZipInfo:
    """The member's entry, refused when its declared size or compression ratio is over the limits."""
    info = archive.getinfo(name)
    cap = decompressed_cap(cap)
    if info.file_size > cap:
        raise SchemaError(feed, f"member {name} declares {info.file_size} bytes once decompressed, over the cap "
                                f"of {cap} bytes (max_decompressed_bytes)", file=file)
    ratio = register.parameters().float("max_compression_ratio")
    if info.file_size > ratio * max(info.compress_size, 1):
        raise SchemaError(feed, f"member {name} expands {info.file_size / max(info.compress_size, 1):.0f} times "
                                f"({info.compress_size} to {info.file_size} bytes), over the ratio of {ratio:g} "
                                "(max_compression_ratio): a ZIP bomb?", file=file)
    return info


class _CappedReader(io.RawIOBase):
    """A ZIP member read with a running count of its decompressed bytes.

    More than ``cap`` bytes out, or more than ``ratio`` × its compressed size, is refused
    whatever the entry declared.
    """

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, feed: str, file: str, cap: int) -> None:
        self.inner = archive.open(info)
        self.info, self.feed, self.file, self.cap = info, feed, file, cap
        self.limit = min(cap, register.parameters().float("max_compression_ratio") * max(info.compress_size, 1))
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self.inner.read(min(len(buffer), _READ_BYTES))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise SchemaError(self.feed, f"damaged or truncated member {self.info.filename}, or not of its "
                                         f"declared size of {self.info.file_size} bytes ({exc})",
                              file=self.file) from None
        self.count += len(data)
        if self.count > self.limit:
            raise SchemaError(self.feed, f"member {self.info.filename} expands past {self.count} bytes, over the cap "
                                         f"of {self.limit:.0f} bytes (max_decompressed_bytes / max_compression_ratio; "
                                         f"it declared {self.info.file_size})", file=self.file)
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


def open_member(archive: zipfile.ZipFile, name: str, feed: str, file: str, cap: int | None = None) -> io.BufferedReader:
    """A stream over one member, checked (:func:`check_member`) and capped while it is read."""
    info = check_member(archive, name, feed, file, cap)
    return io.BufferedReader(_CappedReader(archive, info, feed, file, decompressed_cap(cap)), _READ_BYTES)


def read_member(archive: zipfile.ZipFile, name: str, feed: str, file: str, cap: int | None = None) -> bytes:
    """The bytes of one member, checked and capped (:func:`open_member`)."""
    with open_member(archive, name, feed, file, cap) as stream:
        return stream.read()


def check_values(count: int, what: str, feed: str, file: str) -> None:
    """Refuse to load ``count`` values (cells, grid values) over the register's ``max_decoded_values``."""
    limit = register.parameters().int("max_decoded_values")
    if count > limit:
        raise SchemaError(feed, f"{what} holds {count} values, over the cap of {limit} (max_decoded_values)",
                          file=file)


def check_parquet(payload: bytes, feed: str, file: str) -> None:
    """Refuse a Parquet file whose footer announces too many cells or too many bytes once decompressed.

    Reads only the footer: rows × columns against ``max_decoded_values`` (a dictionary-encoded
    column stays small on disk however many rows it has) and the row groups' uncompressed
    size against ``max_decompressed_bytes``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(payload)).metadata
    except (pa.ArrowException, OSError) as exc:
        raise SchemaError(feed, f"not a readable Parquet file ({exc.__class__.__name__})", file=file) from None
    check_values(meta.num_rows * meta.num_columns, f"the Parquet file ({meta.num_rows} rows × {meta.num_columns} "
                 "columns)", feed, file)
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    cap = decompressed_cap()
    if size > cap:
        raise SchemaError(feed, f"the Parquet file declares {size} bytes uncompressed, over the cap of {cap} bytes "
                                "(max_decompressed_bytes)", file=file)


def check_netcdf(handle, feed: str, file: str) -> None:
    """Refuse a NetCDF file whose variables (coordinates included) hold too many values, before any is read.

    ``handle`` is an open ``netCDF4.Dataset`` (or anything with ``variables`` having a
    ``shape``): shapes come from the header, without decompressing or loading the data, and
    are checked before xarray loads the coordinate variables into indexes.
    """
    count = sum(prod(var.shape) for var in handle.variables.values())
    check_values(count, f"the NetCDF variables {sorted(map(str, handle.variables))}", feed, file)
