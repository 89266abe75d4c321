r"""Reading the LightGCN interaction text format."""

import gzip
import hashlib
import os
import re
import zlib
from itertools import chain
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

PathLike = Union[str, 'os.PathLike[str]']

_GZIP_MAGIC = b'\x1f\x8b'
_MAX_DIGITS = 18  # Any 18-digit id fits into int64.
_BAD_CHARACTER = re.compile(r'[^0-9\s]')
_TOO_LONG_ID = re.compile(f'[0-9]{{{_MAX_DIGITS + 1},}}')


def read_lightgcn_bytes(path: PathLike) -> bytes:
    r"""Returns the uncompressed content of a LightGCN-format file.

    Gzip-compressed files are recognised by their magic bytes, whatever their
    suffix.

    Args:
        path (str or os.PathLike): The file to read.

    Raises:
        FileNotFoundError: If :obj:`path` does not exist.
        ValueError: If :obj:`path` is a damaged gzip file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"LightGCN interaction file '{path}' does not exist"
        )
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(
                f"'{path}' is not a readable gzip file (the "
                f'file is damaged or truncated): {e}'
            ) from e
    return raw


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


def parse_lightgcn_text(text: str, name: str = '<text>') -> Tuple[Tensor, int]:
    r"""Parses LightGCN-format text (one line per user:
    :obj:`user item item ...`).

    Blank lines are skipped; a line holding only a user id declares a user
    without interactions.

    Args:
        text (str): The file content.
        name (str, optional): The file name used in error messages.
            (default: :obj:`'<text>'`)

    Returns:
        (torch.Tensor, int): The :obj:`(user, item)` pairs as a
        :obj:`torch.long` tensor of shape :obj:`[2, E]`, in file order, and
        the number of users (largest user id declared in the file plus one,
        :obj:`0` for an empty file).

    Raises:
        ValueError: If the text holds anything but digits and whitespace
            (e.g. a negative or fractional id), or an id of more than 18
            digits; the message names the file and the 1-based line number.
    """
    # Validate the whole text with two regular expressions (C speed) before
    # converting; this is what lets the conversion below skip per-token
    # checks and still name the offending line on bad input.
    bad = _BAD_CHARACTER.search(text)
    if bad is not None:
        line = text.count('\n', 0, bad.start()) + 1
        raise ValueError(
            f"Malformed character {bad.group()!r} in '{name}' at "
            f'line {line}; expected non-negative integer ids '
            f"('user item item ...')"
        )
    too_long = _TOO_LONG_ID.search(text)
    if too_long is not None:
        line = text.count('\n', 0, too_long.start()) + 1
        raise ValueError(
            f"Id {too_long.group()[:40]} in '{name}' at line "
            f'{line} is too large (more than '
            f'{_MAX_DIGITS} digits)'
        )

    parts = [tokens for tokens in map(str.split, text.splitlines()) if tokens]
    if len(parts) == 0:
        return torch.empty(2, 0, dtype=torch.long), 0

    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    values = np.array(list(chain.from_iterable(parts)), dtype=np.int64)

    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    users = values[starts]
    is_item = np.ones(values.shape[0], dtype=bool)
    is_item[starts] = False
    items = values[is_item]
    user_of_item = np.repeat(users, lengths - 1)
    edge_index = torch.from_numpy(np.stack([user_of_item, items]))
    return edge_index, int(users.max()) + 1


def read_lightgcn_file(path: PathLike, sha256: Optional[str] = None) -> Tensor:
    r"""Reads a file in the LightGCN interaction format, as used by the
    NGCF and LightGCN reference implementations (`He et al., 2020
    <https://arxiv.org/abs/2002.02126>`_): one line per user,
    :obj:`user item item ...`, ids from :obj:`0`. Users without items (a line
    holding only the user id) are allowed. Plain and gzip-compressed files
    are accepted (gzip is recognised by its magic bytes).

    Args:
        path (str or os.PathLike): The file to read.
        sha256 (str, optional): If given, the expected SHA-256 digest of the
            uncompressed content; a mismatch raises. (default: :obj:`None`)

    Returns:
        torch.Tensor: The :obj:`(user, item)` pairs, :obj:`torch.long` of
        shape :obj:`[2, E]`, in file order.

    Raises:
        FileNotFoundError: If :obj:`path` does not exist.
        ValueError: On a malformed line (the message names the file and the
            line), a damaged gzip stream or a checksum mismatch.
    """
    return read_lightgcn_file_with_num_users(path, sha256)[0]


def read_lightgcn_file_with_num_users(
    path: PathLike, sha256: Optional[str] = None
) -> Tuple[Tensor, int]:
    r"""Same as :func:`read_lightgcn_file`, and also returns the number of
    users declared in the file (largest user id plus one), which counts users
    without interactions.
    """
    path = os.fspath(path)
    content = read_lightgcn_bytes(path)
    if sha256 is not None:
        verify_sha256(content, sha256, path)
    try:
        text = content.decode('utf-8')
    except UnicodeDecodeError as e:
        raise ValueError(f"'{path}' is not a text file ({e})") from e
    return parse_lightgcn_text(text, path)
