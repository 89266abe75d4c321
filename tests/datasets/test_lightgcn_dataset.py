import gzip

import pytest
import torch

from torch_geometric_negsamp.datasets import (
    AmazonBook,
    InteractionSplit,
    LightGCNDataset,
    Yelp2018,
)


def write_raw(root):
    raw = root / 'raw'
    raw.mkdir(parents=True)
    (raw / 'train.txt').write_text('0 0 1\n1 2\n2 1 3\n')
    (raw / 'test.txt').write_text('0 2\n1 3\n2\n')


@pytest.mark.parametrize('cls', [LightGCNDataset, Yelp2018, AmazonBook])
def test_dataset_from_raw_folder(tmp_path, cls):
    write_raw(tmp_path)
    dataset = cls(str(tmp_path))
    assert len(dataset) == 1
    data = dataset[0]
    store = data['user', 'rates', 'item']
    assert store.edge_index.tolist() == [[0, 0, 1, 2, 2], [0, 1, 2, 1, 3]]
    assert store.test_edge_index.tolist() == [[0, 1], [2, 3]]
    assert data['item', 'rev_rates', 'user'].edge_index.tolist() == [
        [0, 1, 2, 1, 3],
        [0, 0, 1, 2, 2],
    ]
    split = dataset.split
    assert isinstance(split, InteractionSplit)
    assert (split.num_users, split.num_items) == (3, 4)
    assert (tmp_path / 'processed' / 'data.pt').is_file()


@pytest.mark.parametrize(
    'cls,name,folder',
    [
        (Yelp2018, 'Yelp2018', 'data/yelp2018'),
        (AmazonBook, 'Amazon-Book', 'data/amazon-book'),
        (LightGCNDataset, 'LightGCN-format dataset', 'LightGCN-PyTorch'),
    ],
)
def test_missing_raw_files_say_where_to_put_them(tmp_path, cls, name, folder):
    (tmp_path / 'raw').mkdir()
    (tmp_path / 'raw' / 'train.txt').write_text('0 1\n')
    with pytest.raises(FileNotFoundError) as info:
        cls(str(tmp_path))
    message = str(info.value)
    assert message.startswith(f"{name}: raw file(s) ['test.txt'] not found")
    assert str(tmp_path / 'raw') in message
    assert folder in message


def test_compressed_raw_files(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'train.txt.gz').write_bytes(gzip.compress(b'0 0 1\n1 2\n'))
    (raw / 'test.txt').write_text('0 2\n1 0\n')
    split = LightGCNDataset(str(tmp_path)).split
    assert split.train_index.tolist() == [[0, 0, 1], [0, 1, 2]]
    assert split.test_index.tolist() == [[0, 1], [2, 0]]


@pytest.mark.parametrize(
    'test_text', ['', '\n\n', '0\n1\n'], ids=['empty', 'blank', 'users']
)
def test_test_file_without_interactions_is_refused(tmp_path, test_text):
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'train.txt').write_text('0 0 1\n')
    (raw / 'test.txt').write_text(test_text)
    with pytest.raises(ValueError, match="test.txt' holds no interaction"):
        LightGCNDataset(str(tmp_path))
    assert not (tmp_path / 'processed' / 'data.pt').exists()


def test_transform_and_pre_transform(tmp_path):
    write_raw(tmp_path)

    def pre_transform(data):
        data['user'].x = torch.ones(3, 2)
        return data

    def transform(data):
        data['item'].flag = True
        return data

    dataset = LightGCNDataset(
        str(tmp_path), transform=transform, pre_transform=pre_transform
    )
    assert dataset[0]['user'].x.shape == (3, 2)
    assert dataset[0]['item'].flag is True
    assert 'flag' not in dataset.get(0)['item']
    assert dataset.split.num_train == 5


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(root=3), TypeError, "'root' must be a path"),
        (dict(transform='x'), TypeError, "'transform' must be callable"),
        (dict(pre_transform=1), TypeError, "'pre_transform' must be call"),
        (dict(force_reload='no'), TypeError, "'force_reload' must be a bool"),
    ],
)
def test_arguments_are_checked(tmp_path, kwargs, error, match):
    write_raw(tmp_path)
    kwargs = {'root': str(tmp_path), **kwargs}
    with pytest.raises(error, match=match):
        LightGCNDataset(**kwargs)
    assert not (tmp_path / 'processed').exists()
