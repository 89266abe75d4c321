import gzip

import pytest
import torch

from torch_geometric_negsamp.datasets import read_lightgcn_file
from torch_geometric_negsamp.datasets.lightgcn_file import (
    parse_lightgcn_text,
    read_lightgcn_file_with_num_users,
    verify_sha256,
)

TEXT = '0 3 1\n1\n\n2 0\n'


def test_read_plain_file(tmp_path):
    path = tmp_path / 'train.txt'
    path.write_text(TEXT)
    edge_index = read_lightgcn_file(path)
    assert edge_index.dtype == torch.long
    assert edge_index.tolist() == [[0, 0, 2], [3, 1, 0]]


def test_read_gzip_file_by_magic_bytes(tmp_path):
    path = tmp_path / 'train.dat'  # No .gz suffix: detected by content.
    path.write_bytes(gzip.compress(TEXT.encode()))
    assert read_lightgcn_file(path).tolist() == [[0, 0, 2], [3, 1, 0]]


def test_user_without_items_counts_as_user(tmp_path):
    path = tmp_path / 'test.txt'
    path.write_text('0 1\n5\n')
    edge_index, num_users = read_lightgcn_file_with_num_users(path)
    assert edge_index.tolist() == [[0], [1]]
    assert num_users == 6


def test_empty_text():
    edge_index, num_users = parse_lightgcn_text('\n\n', 'x')
    assert edge_index.shape == (2, 0)
    assert num_users == 0


def test_windows_line_endings():
    edge_index, _ = parse_lightgcn_text('0 1 2\r\n1 3\r\n')
    assert edge_index.tolist() == [[0, 0, 1], [1, 2, 3]]


@pytest.mark.parametrize(
    'text,line,what',
    [
        ('0 1\n1 x 2\n', 2, "'x'"),
        ('0 1\n1 2\n2 -3\n', 3, "'-'"),
        ('0 1.5\n', 1, "'.'"),
    ],
)
def test_malformed_token_names_file_and_line(tmp_path, text, line, what):
    path = tmp_path / 'bad.txt'
    path.write_text(text)
    with pytest.raises(
        ValueError, match=f"{what} in '.*bad.txt' at line {line}"
    ):
        read_lightgcn_file(path)


def test_too_large_id_names_line():
    with pytest.raises(ValueError, match="'f.txt' at line 2 is too large"):
        parse_lightgcn_text('0 1\n1 ' + '9' * 19 + '\n', 'f.txt')


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothere.txt'):
        read_lightgcn_file(tmp_path / 'nothere.txt')


def test_damaged_gzip_is_named(tmp_path):
    path = tmp_path / 'train.txt.gz'
    path.write_bytes(gzip.compress(TEXT.encode() * 50)[:-20])
    with pytest.raises(ValueError, match='train.txt.gz.*not a readable gzip'):
        read_lightgcn_file(path)


def test_binary_file_is_rejected(tmp_path):
    path = tmp_path / 'train.txt'
    path.write_bytes(b'0 1\n\xff\xfe\n')
    with pytest.raises(ValueError, match='train.txt.*not a text file'):
        read_lightgcn_file(path)


def test_checksum(tmp_path):
    import hashlib

    path = tmp_path / 'train.txt'
    path.write_text(TEXT)
    good = hashlib.sha256(TEXT.encode()).hexdigest()
    assert read_lightgcn_file(path, sha256=good).size(1) == 3
    with pytest.raises(ValueError, match='Checksum mismatch for .*train.txt'):
        read_lightgcn_file(path, sha256='0' * 64)


def test_verify_sha256_reports_both_digests():
    with pytest.raises(ValueError, match='expected sha256 abc, got [0-9a-f]'):
        verify_sha256(b'x', 'abc', 'name')
