r"""Reading the LightGCN interaction text format.

The format, exactly: the file is ASCII text (plain or gzip-compressed). A
*line* ends at a line feed (``\n``); a carriage return directly before it
(``\r\n``, Windows) is accepted and dropped. On a line, *tokens* are
separated by runs of ASCII spaces and tabs; every token is a non-negative
decimal id. The first token of a line is a user, the others its items; an
empty line is skipped and a line with a single token declares a user
without items. Any other character (a letter, a sign, a dot, a lone
carriage return, a vertical tab or form feed, a Unicode space, any
non-ASCII byte) is an error naming the file and the line: no two readers
of the same file can then disagree on where a line ends.
"""

import gzip
import hashlib
import os
import re
import zlib
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from torch_geometric_negsamp._validate import check_int, check_path

PathLike = Union[str, 'os.PathLike[str]']

#: The largest user or item id accepted by default (the int32 range). Ids
#: are positions in embedding tables, so an id space this large means the
#: ids were not renumbered ``0..n-1``: no public dataset in this format
#: comes near (Amazon-Book's largest item id is 91,598). Pass
#: :obj:`max_id` to the readers to accept larger ids.
MAX_ID = 2**31 - 1

_GZIP_MAGIC = b'\x1f\x8b'
_MAX_DIGITS = 18  # Any 18-digit id fits into int64.
# Everything but digits, space, tab, line feed, and a carriage return that
# is not directly followed by a line feed.
_BAD_BYTE = re.compile(rb'[^0-9 \t\r\n]|\r(?!\n)')
_TOO_LONG_ID = re.compile(rb'[0-9]{%d,}' % (_MAX_DIGITS + 1))


def resolve_lightgcn_path(path: PathLike) -> str:
    r"""Returns the file to read for :obj:`path`: :obj:`path` itself when it
    exists, otherwise :obj:`path` with a :obj:`.gz` suffix when that exists
    (so a folder may hold :obj:`train.txt` or :obj:`train.txt.gz`).

    Raises:
        FileNotFoundError: If neither exists (the message names both).
        IsADirectoryError: If :obj:`path` is a folder.
        TypeError: If :obj:`path` is not a path.
    """
    path = check_path(path, 'path')
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"LightGCN interaction file '{path}' is a folder; give the "
            f'file inside it'
        )
    if os.path.isfile(path):
        return path
    if os.path.isfile(path + '.gz'):
        return path + '.gz'
    raise FileNotFoundError(
        f"LightGCN interaction file '{path}' (or '{path}.gz') does not exist"
    )


def read_lightgcn_bytes(path: PathLike) -> bytes:
    r"""Returns the uncompressed content of a LightGCN-format file.

    :obj:`path` is resolved by :func:`resolve_lightgcn_path` (a missing
    :obj:`train.txt` is read from :obj:`train.txt.gz`). Gzip-compressed
    files are recognised by their magic bytes, whatever their suffix.

    Args:
        path (str or os.PathLike): The file to read.

    Raises:
        FileNotFoundError: If neither :obj:`path` nor :obj:`path.gz`
            exists.
        IsADirectoryError: If :obj:`path` is a folder.
        ValueError: If the file is a damaged gzip file.
    """
    path = resolve_lightgcn_path(path)
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        raw = decompress(raw, f"'{path}'", 'the file is damaged or truncated')
    return raw


def decompress(raw: bytes, what: str, remedy: str) -> bytes:
    r"""The uncompressed content of the gzip data :obj:`raw`; damaged data
    is a :class:`ValueError` naming :obj:`what` (e.g. the file) and the
    :obj:`remedy`."""
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(
            f'{what} is not a readable gzip file ({e}): {remedy}'
        ) from e


def verify_sha256(content: bytes, expected: str, name: str) -> None:
    r"""Checks the SHA-256 digest of :obj:`content`.

    Args:
        content (bytes): The (uncompressed) file content.
        expected (str): The expected hexadecimal SHA-256 digest.
        name (str): The file name reported in the error message.

    Raises:
        ValueError: If the digest differs from :obj:`expected`.
    """
    digest = hashlib.sha256(content).hexdigest()
    if digest != expected:
        raise ValueError(
            f"Checksum mismatch for '{name}': expected sha256 "
            f'{expected}, got {digest}. The file is corrupt or '
            f'not the expected one; restore the original file'
        )


def _line_of(content: bytes, position: int) -> int:
    return content.count(b'\n', 0, position) + 1


def _describe(byte: bytes) -> str:
    if byte == b'\r':
        return 'a carriage return not followed by a line feed'
    if byte[0] >= 0x80:
        return f'the non-ASCII byte 0x{byte[0]:02x}'
    return f'the character {byte.decode()!r}'


def parse_lightgcn_text(
    text: Union[str, bytes],
    name: str = '<text>',
    max_id: int = MAX_ID,
) -> Tuple[Tensor, int]:
    r"""Parses LightGCN-format text (one line per user:
    :obj:`user item item ...`; the exact rules are in the module
    documentation).

    Args:
        text (str or bytes): The file content.
        name (str, optional): The file name used in error messages.
            (default: :obj:`'<text>'`)
        max_id (int, optional): The largest id accepted.
            (default: :obj:`MAX_ID`, :math:`2^{31} - 1`)

    Returns:
        (torch.Tensor, int): The :obj:`(user, item)` pairs as a
        :obj:`torch.long` tensor of shape :obj:`[2, E]`, in file order, and
        the number of users (largest user id declared in the file plus one,
        :obj:`0` for a file without any line).

    Raises:
        ValueError: If the text holds anything but digits, spaces, tabs and
            line ends (e.g. a negative or fractional id, a form feed, a
            Unicode space), an id of more than 18 digits or an id above
            :obj:`max_id`; the message names the file and the 1-based line
            number.
    """
    max_id = check_int(max_id, 'max_id', minimum=0)
    content = text.encode('utf-8') if isinstance(text, str) else text
    if not isinstance(content, bytes):
        raise TypeError(
            f"'text' must be str or bytes (got {type(text).__name__})"
        )
    # Validate the whole content with two regular expressions (C speed)
    # before converting; this is what lets the conversion below skip
    # per-token checks and still name the offending line on bad input.
    bad = _BAD_BYTE.search(content)
    if bad is not None:
        raise ValueError(
            f"Malformed line {_line_of(content, bad.start())} in '{name}': "
            f'{_describe(bad.group()[:1])} is not allowed (a line holds '
            f'non-negative integer ids separated by spaces or tabs, '
            f"'user item item ...')"
        )
    too_long = _TOO_LONG_ID.search(content)
    if too_long is not None:
        raise ValueError(
            f'Id {too_long.group()[:40].decode()} in '
            f"'{name}' at line {_line_of(content, too_long.start())} is too "
            f'large (more than {_MAX_DIGITS} digits)'
        )

    # After the validation above, str.split() separates on exactly the
    # allowed separators: space, tab, and the '\r' of a '\r\n'.
    parts = [line.split() for line in content.decode('ascii').split('\n')]
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    line_number = np.nonzero(lengths)[0] + 1
    lengths = lengths[lengths > 0]
    if lengths.size == 0:
        return torch.empty(2, 0, dtype=torch.long), 0
    values = np.array(
        [token for tokens in parts for token in tokens], dtype=np.int64
    )
    if int(values.max()) > max_id:
        position = int(np.argmax(values > max_id))
        row = int(np.searchsorted(np.cumsum(lengths), position, 'right'))
        raise ValueError(
            f"Id {int(values[position])} in '{name}' at line "
            f'{int(line_number[row])} is above the largest accepted id '
            f"{max_id} ('max_id'); ids index embedding tables and must be "
            f'numbered 0..n-1 (renumber them, or raise max_id)'
        )

    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    users = values[starts]
    is_item = np.ones(values.shape[0], dtype=bool)
    is_item[starts] = False
    items = values[is_item]
    user_of_item = np.repeat(users, lengths - 1)
    edge_index = torch.from_numpy(np.stack([user_of_item, items]))
    return edge_index, int(users.max()) + 1


def read_lightgcn_file(
    path: PathLike, sha256: Optional[str] = None, max_id: int = MAX_ID
) -> Tensor:
    r"""Reads a file in the LightGCN interaction format, as used by the
    NGCF and LightGCN reference implementations (`He et al., 2020
    <https://arxiv.org/abs/2002.02126>`_): one line per user,
    :obj:`user item item ...`, ids from :obj:`0`, separated by spaces or
    tabs (the exact rules are in the module documentation). Users without
    items (a line holding only the user id) are allowed. Plain and
    gzip-compressed files are accepted (gzip is recognised by its magic
    bytes); a missing :obj:`path` is read from :obj:`path.gz` when that
    exists.

    Args:
        path (str or os.PathLike): The file to read.
        sha256 (str, optional): If given, the expected SHA-256 digest of the
            uncompressed content; a mismatch raises. (default: :obj:`None`)
        max_id (int, optional): The largest user or item id accepted.
            (default: :obj:`MAX_ID`, :math:`2^{31} - 1`)

    Returns:
        torch.Tensor: The :obj:`(user, item)` pairs, :obj:`torch.long` of
        shape :obj:`[2, E]`, in file order.

    Raises:
        FileNotFoundError: If neither :obj:`path` nor :obj:`path.gz`
            exists.
        ValueError: On a malformed line or an id above :obj:`max_id` (the
            message names the file and the line), a damaged gzip stream or
            a checksum mismatch.
    """
    return read_lightgcn_file_with_num_users(path, sha256, max_id)[0]


def read_lightgcn_file_with_num_users(
    path: PathLike, sha256: Optional[str] = None, max_id: int = MAX_ID
) -> Tuple[Tensor, int]:
    r"""Same as :func:`read_lightgcn_file`, and also returns the number of
    users declared in the file (largest user id plus one), which counts users
    without interactions.
    """
    max_id = check_int(max_id, 'max_id', minimum=0)
    path = resolve_lightgcn_path(path)
    content = read_lightgcn_bytes(path)
    if sha256 is not None:
        verify_sha256(content, sha256, path)
    return parse_lightgcn_text(content, path, max_id)
