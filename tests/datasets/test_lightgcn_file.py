import gzip

import pytest
import torch

from torch_geometric_negsamp.datasets import MAX_ID, read_lightgcn_file
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
    edge_index, _ = parse_lightgcn_text(b'0 1 2\r\n\r\n1 3')
    assert edge_index.tolist() == [[0, 0, 1], [1, 2, 3]]


@pytest.mark.parametrize(
    'text,line,what',
    [
        ('0 1\n1 x 2\n', 2, "the character 'x'"),
        ('0 1\n1 2\n2 -3\n', 3, "the character '-'"),
        ('0 1.5\n', 1, "the character '.'"),
    ],
)
def test_malformed_token_names_file_and_line(tmp_path, text, line, what):
    path = tmp_path / 'bad.txt'
    path.write_text(text)
    with pytest.raises(
        ValueError, match=f"Malformed line {line} in '.*bad.txt': {what}"
    ):
        read_lightgcn_file(path)


def test_tabs_and_runs_of_spaces_separate_tokens():
    edge_index, num_users = parse_lightgcn_text(b'0\t1  2\n \t1\t\t3 \n')
    assert edge_index.tolist() == [[0, 0, 1], [1, 2, 3]]
    assert num_users == 2


# Each of these once split a line in two in str.splitlines() but not in the
# tokenizer, inventing a user: '0 1<c>2 3' read as users 0 and 2.
@pytest.mark.parametrize(
    'separator,what',
    [
        ('\x0b', r"the character '\\x0b'"),
        ('\x0c', r"the character '\\x0c'"),
        ('\x1c', r"the character '\\x1c'"),
        ('\x1d', r"the character '\\x1d'"),
        ('\x1e', r"the character '\\x1e'"),
        ('\r', 'a carriage return not followed by a line feed'),
        ('\x85', 'the non-ASCII byte 0xc2'),
        ('\u2028', 'the non-ASCII byte 0xe2'),
        ('\u00a0', 'the non-ASCII byte 0xc2'),
    ],
)
def test_other_whitespace_is_an_error_not_a_line_break(
    tmp_path, separator, what
):
    text = f'5 6\n0 1{separator}2 3\n'
    with pytest.raises(
        ValueError, match=f"Malformed line 2 in 'f.txt': {what}"
    ):
        parse_lightgcn_text(text, 'f.txt')
    path = tmp_path / 'train.txt'
    path.write_bytes(text.encode('utf-8'))
    with pytest.raises(ValueError, match='Malformed line 2 in .*train.txt'):
        read_lightgcn_file(path)


def test_raw_non_ascii_byte_is_named(tmp_path):
    path = tmp_path / 'train.txt'
    path.write_bytes(b'0 1\n1\x852\n')  # A Latin-1 NEL byte.
    with pytest.raises(
        ValueError, match='Malformed line 2 .*the non-ASCII byte 0x85'
    ):
        read_lightgcn_file(path)


def test_parse_rejects_other_types():
    with pytest.raises(TypeError, match="'text' must be str or bytes"):
        parse_lightgcn_text(['0 1'])


def test_too_large_id_names_line():
    with pytest.raises(ValueError, match="'f.txt' at line 2 is too large"):
        parse_lightgcn_text('0 1\n1 ' + '9' * 19 + '\n', 'f.txt')


def test_missing_file_is_named(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"nothere.txt' \(or '.*nothere.txt.gz'\)"
    ):
        read_lightgcn_file(tmp_path / 'nothere.txt')


def test_folder_and_non_path_are_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match='is a folder'):
        read_lightgcn_file(tmp_path)
    with pytest.raises(TypeError, match="'path' must be a path .*got int"):
        read_lightgcn_file(3)


def test_gz_sibling_is_read_when_the_plain_file_is_missing(tmp_path):
    (tmp_path / 'train.txt.gz').write_bytes(gzip.compress(TEXT.encode()))
    edge_index = read_lightgcn_file(tmp_path / 'train.txt')
    assert edge_index.tolist() == [[0, 0, 2], [3, 1, 0]]
    # The plain file wins when both exist.
    (tmp_path / 'train.txt').write_text('4 5\n')
    assert read_lightgcn_file(tmp_path / 'train.txt').tolist() == [[4], [5]]


def test_id_above_max_id_names_file_and_line(tmp_path):
    path = tmp_path / 'train.txt'
    path.write_text('0 1\n\n1 2 1000000000000\n')
    with pytest.raises(
        ValueError,
        match=r"Id 1000000000000 in '.*train.txt' at line 3 is above the "
        r"largest accepted id 2147483647 \('max_id'\)",
    ):
        read_lightgcn_file(path)
    assert read_lightgcn_file(path, max_id=10**12).tolist() == [
        [0, 1, 1],
        [1, 2, 10**12],
    ]
    assert MAX_ID == 2**31 - 1
    # A user id is bounded too.
    with pytest.raises(ValueError, match='Id 8 .* at line 2 .* id 7 '):
        parse_lightgcn_text('0 1\n8 2\n', max_id=7)
    assert parse_lightgcn_text('0 1\n7 2\n', max_id=7)[1] == 8


@pytest.mark.parametrize(
    'max_id,error,match',
    [
        (-1, ValueError, "'max_id' must be non-negative"),
        (1.5, TypeError, "'max_id' must be an int"),
    ],
)
def test_max_id_is_checked(tmp_path, max_id, error, match):
    path = tmp_path / 'train.txt'
    path.write_text(TEXT)
    with pytest.raises(error, match=match):
        read_lightgcn_file(path, max_id=max_id)
    with pytest.raises(error, match=match):
        parse_lightgcn_text(TEXT, max_id=max_id)


def test_damaged_gzip_is_named(tmp_path):
    path = tmp_path / 'train.txt.gz'
    path.write_bytes(gzip.compress(TEXT.encode() * 50)[:-20])
    with pytest.raises(ValueError, match='train.txt.gz.*not a readable gzip'):
        read_lightgcn_file(path)


def test_binary_file_is_rejected(tmp_path):
    path = tmp_path / 'train.txt'
    path.write_bytes(b'0 1\n\xff\xfe\n')
    with pytest.raises(
        ValueError, match="line 2 in '.*train.txt': the non-ASCII byte 0xff"
    ):
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
