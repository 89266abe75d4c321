import gzip
import math

import pytest
import torch
from scipy.stats import chisquare
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
        (dict(num_users=0), ValueError, "'num_users' must be a positive"),
        (dict(num_items=True), TypeError, "'num_items' must be an int"),
        (
            dict(num_items=2**53 + 1),
            ValueError,
            "'num_items' must be at most 9007199254740992",
        ),
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


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_indices_on_two_devices():
    with pytest.raises(ValueError, match="'test_index' is on cuda"):
        InteractionSplit(
            torch.tensor([[0], [1]]), torch.tensor([[0], [1]]).cuda(), 1, 2
        )


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


def test_with_validation_draw_is_a_seeded_edge_permutation():
    # The documented draw (its random stream is what the training command's
    # figures rest on): one torch.randperm of the training edges on a CPU
    # generator seeded with 'seed'; each user's edges in that order, the
    # first ones to validation.
    gen = torch.Generator().manual_seed(5)
    train = torch.stack(
        [torch.randint(0, 6, (40,), generator=gen), torch.arange(40)]
    )
    split = InteractionSplit(train, torch.tensor([[0], [0]]), 6, 40)
    for seed in (0, 7):
        out = split.with_validation(0.3, seed=seed)
        perm = torch.randperm(
            40, generator=torch.Generator().manual_seed(seed)
        )
        want = set()
        for user in range(6):
            mine = [int(e) for e in perm if int(train[0, e]) == user]
            take = min(math.ceil(0.3 * len(mine)), len(mine) - 1)
            want |= {int(train[1, e]) for e in mine[:take]}
        assert set(out.val_index[1].tolist()) == want


def test_with_validation_is_uniform_within_a_user():
    # One user with 4 items and fraction 0.25 gives one validation item:
    # each should be chosen with probability 1/4.
    split = InteractionSplit(
        torch.tensor([[0, 0, 0, 0], [0, 1, 2, 3]]),
        torch.tensor([[0], [0]]),
        1,
        4,
    )
    counts = [0] * 4
    for seed in range(200):
        counts[int(split.with_validation(0.25, seed=seed).val_index[1])] += 1
    assert chisquare(counts).pvalue > 1e-3


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
        (0.0, 0, ValueError, r"'fraction' must be in \(0, 1\) \(got 0\)"),
        (1.0, 0, ValueError, r"'fraction' must be in \(0, 1\) \(got 1\)"),
        (float('nan'), 0, ValueError, "'fraction' must be finite"),
        ('0.1', 0, TypeError, "'fraction' must be a float"),
        (0.1, 1.5, TypeError, "'seed' must be an int"),
        (0.1, 2**64, ValueError, "'seed' must be at most"),
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
        (0, ValueError, "'num_users' must be a positive integer"),
        (4, ValueError, "'num_users' must be at most 3"),
        (1.0, TypeError, "'num_users' must be an int"),
    ],
)
def test_subset_errors(num_users, error, match):
    with pytest.raises(error, match=match):
        make_split().subset(num_users)


def test_subset_seed_is_checked():
    with pytest.raises(TypeError, match="'seed' must be an int"):
        make_split().subset(2, seed='0')


def test_huge_id_space_costs_nothing_until_a_map_over_it_is_asked():
    # with_validation and a first-users subset work per edge, not per id
    # (they once allocated a count per user: 8 TB here); a random subset
    # needs an order of all users and is refused before allocating.
    train = torch.tensor([[0, 0, 5], [0, 1, 2]])
    split = InteractionSplit(train, torch.tensor([[5], [1]]), 2**40, 3)
    out = split.with_validation(0.5, seed=0)
    assert out.num_val == 1 and out.val_index[0].tolist() == [0]
    small = split.subset(1)
    assert small.train_index.tolist() == [[0, 0], [0, 1]]
    with pytest.raises(ValueError, match="'num_users' asks for a random"):
        split.subset(1, seed=0)


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


@pytest.mark.parametrize('empty', ['train', 'test'])
@pytest.mark.parametrize('text', ['', '\n', '0\n3\n'])
def test_from_lightgcn_files_without_interactions(tmp_path, empty, text):
    # Refused at load, not after the first epoch of training.
    (tmp_path / 'train.txt').write_text('0 1 2\n1 0\n')
    (tmp_path / 'test.txt').write_text('0 0\n')
    (tmp_path / f'{empty}.txt').write_text(text)
    with pytest.raises(
        ValueError, match=f"'.*{empty}.txt' holds no interaction"
    ):
        InteractionSplit.from_lightgcn_files(
            tmp_path / 'train.txt', tmp_path / 'test.txt'
        )


def test_from_lightgcn_files_reads_gzip_either_way(tmp_path):
    plain = tmp_path / 'plain'
    packed = tmp_path / 'packed'
    plain.mkdir()
    packed.mkdir()
    for name, text in (('train.txt', '0 1 2\n1 0\n'), ('test.txt', '0 3\n')):
        (plain / name).write_text(text)
        (packed / f'{name}.gz').write_bytes(gzip.compress(text.encode()))
    want = InteractionSplit.from_lightgcn_files(
        plain / 'train.txt', plain / 'test.txt'
    )
    # The names the training command builds ('train.txt') and the real
    # file names both work.
    for suffix in ('', '.gz'):
        got = InteractionSplit.from_lightgcn_files(
            packed / f'train.txt{suffix}', packed / f'test.txt{suffix}'
        )
        assert torch.equal(got.train_index, want.train_index)
        assert torch.equal(got.test_index, want.test_index)
        assert (got.num_users, got.num_items) == (2, 4)


def test_from_lightgcn_files_bounds_ids(tmp_path):
    (tmp_path / 'train.txt').write_text('0 1\n')
    (tmp_path / 'test.txt').write_text('0 1000000000000\n')
    with pytest.raises(ValueError, match="Id 1000000000000 in '.*test.txt'"):
        InteractionSplit.from_lightgcn_files(
            tmp_path / 'train.txt', tmp_path / 'test.txt'
        )
    with pytest.raises(ValueError, match='Id 1000000000000 .* id 10 '):
        InteractionSplit.from_lightgcn_files(
            tmp_path / 'train.txt', tmp_path / 'test.txt', max_id=10
        )
    with pytest.raises(FileNotFoundError, match=r"nope.txt' \(or"):
        InteractionSplit.from_lightgcn_files(
            tmp_path / 'train.txt', tmp_path / 'nope.txt'
        )
