import pytest
import torch
from torch_geometric.data import HeteroData

from torch_geometric_negsamp.datasets import InteractionSplit


def make_split():
    # 3 users, 4 items.
    train = torch.tensor([[0, 0, 0, 0, 1, 2, 2], [0, 1, 2, 3, 1, 0, 3]])
    test = torch.tensor([[0, 1, 2], [1, 3, 2]])
    return InteractionSplit(train, test, num_users=3, num_items=4)


def test_properties_and_repr():
    split = make_split()
    assert (split.num_train, split.num_test, split.num_val) == (7, 3, 0)
    assert repr(split) == (
        'InteractionSplit(num_users=3, num_items=4, num_train=7, num_test=3)'
    )


def test_int32_indices_become_long():
    split = InteractionSplit(
        torch.tensor([[0], [1]], dtype=torch.int32),
        torch.tensor([[0], [0]], dtype=torch.int32),
        1,
        2,
    )
    assert split.train_index.dtype == torch.long
    assert split.test_index.dtype == torch.long


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(num_users=0), ValueError, "'num_users' must be at least 1"),
        (dict(num_items=True), TypeError, "'num_items' must be an int"),
        (
            dict(train_index=[[0], [1]]),
            TypeError,
            "'train_index' must be a torch",
        ),
        (
            dict(train_index=torch.zeros(3, 2, dtype=torch.long)),
            ValueError,
            r"'train_index' must have shape \[2, E\] \(got \[3, 2\]\)",
        ),
        (
            dict(test_index=torch.zeros(2, 1)),
            TypeError,
            "'test_index' must hold integer ids",
        ),
        (
            dict(test_index=torch.tensor([[3], [0]])),
            ValueError,
            r"'test_index' holds user ids in \[3, 3\], outside \[0, 2\]",
        ),
        (
            dict(val_index=torch.tensor([[0], [-1]])),
            ValueError,
            r"'val_index' holds item ids in \[-1, -1\]",
        ),
        (
            dict(val_index=torch.empty(2, 0, dtype=torch.long, device='meta')),
            ValueError,
            "'val_index' is on meta",
        ),
    ],
)
def test_validation(kwargs, error, match):
    args = dict(
        train_index=torch.tensor([[0], [1]]),
        test_index=torch.tensor([[1], [0]]),
        num_users=3,
        num_items=4,
    )
    args.update(kwargs)
    with pytest.raises(error, match=match):
        InteractionSplit(**args)


def test_to_hetero_data_and_back():
    split = make_split().with_validation(0.5, seed=0)
    data = split.to_hetero_data()
    assert isinstance(data, HeteroData)
    assert data['user'].num_nodes == 3 and data['item'].num_nodes == 4
    store = data['user', 'rates', 'item']
    assert torch.equal(store.edge_index, split.train_index)
    assert torch.equal(store.test_edge_index, split.test_index)
    assert torch.equal(store.val_edge_index, split.val_index)
    assert torch.equal(
        data['item', 'rev_rates', 'user'].edge_index, split.train_index.flip(0)
    )
    back = InteractionSplit.from_hetero_data(data)
    assert torch.equal(back.val_index, split.val_index)
    assert (back.num_users, back.num_items) == (3, 4)


def test_from_hetero_data_errors():
    with pytest.raises(ValueError, match="'data' must be a HeteroData"):
        InteractionSplit.from_hetero_data(HeteroData())
    data = make_split().to_hetero_data()
    del data['user', 'rates', 'item'].test_edge_index
    with pytest.raises(ValueError, match="no 'test_edge_index'"):
        InteractionSplit.from_hetero_data(data)


def test_to_homogeneous_edge_index():
    split = InteractionSplit(
        torch.tensor([[0, 1], [1, 0]]), torch.tensor([[0], [0]]), 2, 3
    )
    # Item i becomes node 2 + i; forward edges first, then their reverses.
    assert split.to_homogeneous_edge_index().tolist() == [
        [0, 1, 3, 2],
        [3, 2, 0, 1],
    ]


def test_with_validation_per_user_counts():
    split = make_split()
    out = split.with_validation(0.3, seed=1)
    # User 0 has 4 items -> ceil(1.2) = 2 validation items; user 1 has a
    # single item and keeps it; user 2 has 2 items -> min(ceil(0.6), 1) = 1.
    assert torch.bincount(out.val_index[0], minlength=3).tolist() == [2, 0, 1]
    train_count = torch.bincount(out.train_index[0], minlength=3)
    assert train_count.tolist() == [2, 1, 1]
    # Nothing lost, nothing duplicated; test edges untouched.
    keys = lambda e: sorted(map(tuple, e.t().tolist()))  # noqa: E731
    assert keys(torch.cat([out.train_index, out.val_index], 1)) == keys(
        split.train_index
    )
    assert torch.equal(out.test_index, split.test_index)


def test_with_validation_is_seeded():
    split = make_split()
    a = split.with_validation(0.5, seed=3)
    b = split.with_validation(0.5, seed=3)
    assert torch.equal(a.val_index, b.val_index)
    seen = {
        tuple(split.with_validation(0.5, seed=s).val_index[1].tolist())
        for s in range(20)
    }
    assert len(seen) > 1  # The seed matters.


@pytest.mark.parametrize(
    'fraction,seed,error,match',
    [
        (0.0, 0, ValueError, r"'fraction' must lie in \(0, 1\) \(got 0.0\)"),
        (1.0, 0, ValueError, r"'fraction' must lie in \(0, 1\) \(got 1.0\)"),
        ('0.1', 0, TypeError, "'fraction' must be a float"),
        (0.1, 1.5, TypeError, "'seed' must be an int"),
    ],
)
def test_with_validation_errors(fraction, seed, error, match):
    with pytest.raises(error, match=match):
        make_split().with_validation(fraction, seed=seed)


def test_with_validation_twice_raises():
    with pytest.raises(ValueError, match="already has a 'val_index'"):
        make_split().with_validation(0.5).with_validation(0.5)


def test_subset_first_users_reindexes_items():
    out = make_split().subset(2)
    # Users 0 and 1 use items {0, 1, 2, 3}; user 2's edges are dropped.
    assert (out.num_users, out.num_items) == (2, 4)
    assert out.train_index.tolist() == [[0, 0, 0, 0, 1], [0, 1, 2, 3, 1]]
    assert out.test_index.tolist() == [[0, 1], [1, 3]]


def test_subset_dense_item_ids():
    train = torch.tensor([[0, 0, 1], [5, 9, 2]])
    test = torch.tensor([[0], [7]])
    out = InteractionSplit(train, test, 2, 10).subset(1)
    # Items 5, 7, 9 -> 0, 1, 2.
    assert out.num_items == 3
    assert out.train_index.tolist() == [[0, 0], [0, 2]]
    assert out.test_index.tolist() == [[0], [1]]


def test_subset_random_is_seeded_and_keeps_validation():
    split = make_split().with_validation(0.5, seed=0)
    a, b = split.subset(2, seed=4), split.subset(2, seed=4)
    assert torch.equal(a.train_index, b.train_index)
    assert a.val_index is not None
    assert a.num_train + a.num_val + a.num_test > 0
    picks = {
        tuple(split.subset(1, seed=s).train_index[1].tolist())
        for s in range(20)
    }
    assert len(picks) > 1


@pytest.mark.parametrize(
    'num_users,error,match',
    [
        (0, ValueError, "'num_users' must be at least 1"),
        (4, ValueError, "'num_users' must be at most 3"),
        (1.0, TypeError, "'num_users' must be an int"),
    ],
)
def test_subset_errors(num_users, error, match):
    with pytest.raises(error, match=match):
        make_split().subset(num_users)


def test_subset_without_interactions_raises():
    split = InteractionSplit(
        torch.tensor([[1], [0]]), torch.tensor([[1], [1]]), 2, 2
    )
    with pytest.raises(ValueError, match='selected 1 users have no inter'):
        split.subset(1)


def test_to_device_copy():
    split = make_split().with_validation(0.5)
    out = split.to('cpu')
    assert out is not split
    assert torch.equal(out.val_index, split.val_index)


def test_from_lightgcn_files(tmp_path):
    (tmp_path / 'train.txt').write_text('0 1 2\n1 0\n3\n')
    (tmp_path / 'test.txt').write_text('0 4\n1\n')
    split = InteractionSplit.from_lightgcn_files(
        tmp_path / 'train.txt', tmp_path / 'test.txt'
    )
    assert (split.num_users, split.num_items) == (4, 5)  # User 3 is empty.
    assert split.test_index.tolist() == [[0], [4]]


def test_from_lightgcn_files_without_interactions(tmp_path):
    (tmp_path / 'train.txt').write_text('0\n')
    (tmp_path / 'test.txt').write_text('1\n')
    with pytest.raises(ValueError, match='holds an interaction'):
        InteractionSplit.from_lightgcn_files(
            tmp_path / 'train.txt', tmp_path / 'test.txt'
        )
