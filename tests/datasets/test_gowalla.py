import gzip
import importlib.resources

import pytest
import torch

from torch_geometric_negsamp.datasets import (
    GOWALLA_SHA256,
    Gowalla,
    InteractionSplit,
    load_gowalla,
)
from torch_geometric_negsamp.datasets import gowalla as gowalla_module


def embedded_text(name):
    resource = importlib.resources.files('torch_geometric_negsamp.datasets')
    return gzip.decompress(
        (resource / 'data' / 'gowalla' / f'{name}.gz').read_bytes()
    )


def test_load_gowalla_statistics():
    split = load_gowalla()
    assert isinstance(split, InteractionSplit)
    assert (split.num_users, split.num_items) == (29858, 40981)
    assert (split.num_train, split.num_test) == (810128, 217242)
    assert split.val_index is None
    # First line of train.txt is "0 0 1 2 ...".
    assert split.train_index[:, :3].tolist() == [[0, 0, 0], [0, 1, 2]]


def test_corrupt_copy_names_the_file(tmp_path):
    content = bytearray(embedded_text('train.txt'))
    content[10] = ord('7') if content[10] != ord('7') else ord('8')
    (tmp_path / 'train.txt').write_bytes(bytes(content))
    (tmp_path / 'test.txt.gz').write_bytes(
        gzip.compress(embedded_text('test.txt'))
    )
    with pytest.raises(ValueError, match='Checksum mismatch for .*train.txt'):
        load_gowalla(tmp_path)


def test_load_from_directory_and_missing_file(tmp_path):
    (tmp_path / 'train.txt').write_bytes(embedded_text('train.txt'))
    with pytest.raises(FileNotFoundError, match="test.txt' \\(or"):
        load_gowalla(tmp_path)
    (tmp_path / 'test.txt.gz').write_bytes(
        gzip.compress(embedded_text('test.txt'))
    )
    split = load_gowalla(str(tmp_path))
    assert split.num_test == 217242


def test_directory_must_be_a_path():
    with pytest.raises(TypeError, match="'directory' must be a path"):
        load_gowalla(3)


def test_gowalla_dataset_checks_compressed_raw_files(tmp_path):
    # A compressed raw file is read (see test_lightgcn_dataset) and checked
    # against the digest of its uncompressed content.
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'train.txt.gz').write_bytes(gzip.compress(b'0 1\n'))
    (raw / 'test.txt').write_bytes(embedded_text('test.txt'))
    with pytest.raises(ValueError, match='Checksum mismatch .*train.txt.gz'):
        Gowalla(str(tmp_path))
    assert not (raw / 'train.txt').exists()  # Nothing was written.


def test_embedded_missing_or_damaged(tmp_path, monkeypatch):
    monkeypatch.setattr(
        gowalla_module.importlib.resources, 'files', lambda package: tmp_path
    )
    with pytest.raises(FileNotFoundError, match='data/gowalla/train.txt.gz'):
        load_gowalla()
    folder = tmp_path / 'data' / 'gowalla'
    folder.mkdir(parents=True)
    (folder / 'train.txt.gz').write_bytes(b'\x1f\x8b not gzip')
    with pytest.raises(ValueError, match='data/gowalla/train.txt.gz.* damag'):
        load_gowalla()
    (folder / 'train.txt.gz').write_bytes(gzip.compress(b'0 1\n'))
    with pytest.raises(ValueError, match='Checksum mismatch for .*train.txt'):
        load_gowalla()


def test_gowalla_dataset_copies_embedded_files(tmp_path):
    dataset = Gowalla(str(tmp_path))
    assert (tmp_path / 'raw' / 'train.txt').is_file()
    assert (tmp_path / 'processed' / 'data.pt').is_file()
    assert repr(dataset) == f'Gowalla(root={str(tmp_path)!r})'
    data = dataset[0]
    assert data['user'].num_nodes == 29858
    assert data['item'].num_nodes == 40981
    assert data['user', 'rates', 'item'].edge_index.size(1) == 810128
    assert data['user', 'rates', 'item'].test_edge_index.size(1) == 217242
    split = dataset.split
    assert torch.equal(split.train_index, load_gowalla().train_index)
    # Loading again reads the processed file.
    again = Gowalla(str(tmp_path))
    assert again.split.num_test == 217242


def test_gowalla_dataset_rejects_corrupt_raw_file(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'train.txt').write_bytes(embedded_text('train.txt')[:-5] + b'1\n')
    (raw / 'test.txt').write_bytes(embedded_text('test.txt'))
    with pytest.raises(ValueError, match="Checksum mismatch for '.*raw.train"):
        Gowalla(str(tmp_path))


def test_checksums_match_readme():
    resource = importlib.resources.files('torch_geometric_negsamp.datasets')
    readme = (resource / 'data' / 'gowalla' / 'README.md').read_text()
    for digest in GOWALLA_SHA256.values():
        assert digest in readme
