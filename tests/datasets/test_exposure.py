import gzip

import pytest
import torch
from scipy.stats import chisquare

from torch_geometric_negsamp.datasets import Exposure

# 3 users, 6 items; training degrees: item 0: 3, item 1: 2, item 2: 1.
TRAIN = torch.tensor([[0, 0, 1, 1, 2, 2], [0, 1, 0, 2, 0, 1]])


def test_tensor_exposure_drops_training_positives_and_duplicates():
    pairs = torch.tensor([[0, 0, 0, 0, 1, 2], [1, 3, 3, 4, 5, 0]])
    exposure = Exposure(pairs, 3, 6, train_index=TRAIN)
    # (0, 1) and (2, 0) are training positives, (0, 3) is given twice.
    assert exposure.removed == 2 and exposure.num_pairs == 3
    assert exposure.sizes().tolist() == [2, 1, 0]
    assert exposure.sizes(torch.tensor([1, 0])).tolist() == [1, 2]
    assert not exposure.simulated
    assert 'SIMULATED' not in exposure.describe()
    assert exposure.describe() == 'exposure (tensor): 3 pairs for 2 of 3 users'
    assert 'simulated=False' in repr(exposure)


def test_tensor_exposure_errors():
    with pytest.raises(ValueError, match="'exposure_index'.*item.*6"):
        Exposure(torch.tensor([[0], [6]]), 3, 6)
    with pytest.raises(ValueError, match="'exposure_index'.*user.*3"):
        Exposure(torch.tensor([[3], [0]]), 3, 6)
    with pytest.raises(ValueError, match="'exposure_index'.*-1"):
        Exposure(torch.tensor([[0], [-1]]), 3, 6)
    with pytest.raises(ValueError, match='no exposure outside the training'):
        Exposure(torch.tensor([[0, 1], [0, 2]]), 3, 6, train_index=TRAIN)
    with pytest.raises(ValueError, match='no exposure outside'):
        Exposure(torch.zeros(2, 0, dtype=torch.long), 3, 6)
    with pytest.raises(ValueError, match="'train_index'"):
        Exposure(torch.tensor([[0], [3]]), 3, 6, train_index=TRAIN + 5)
    with pytest.raises(TypeError, match="'simulated' must be a bool"):
        Exposure(torch.tensor([[0], [3]]), 3, 6, simulated=1)
    with pytest.raises(TypeError, match="'exposure_index'"):
        Exposure([[0], [3]], 3, 6)


def test_draws_without_and_with_replacement():
    pairs = torch.tensor([[0, 0, 0, 0, 1], [2, 3, 4, 5, 3]])
    exposure = Exposure(pairs, 3, 6)
    gen = torch.Generator().manual_seed(0)
    users = torch.tensor([0, 1, 2]).repeat(3000)
    out = exposure.sample_unchecked(users, 2, gen).view(3000, 3, 2)
    # User 0 (4 items, 2 drawn): distinct, every item as often.
    u0 = out[:, 0]
    assert bool((u0[:, 0] != u0[:, 1]).all())
    counts = torch.bincount(u0.reshape(-1), minlength=6)[2:]
    assert chisquare(counts.numpy()).pvalue > 1e-3
    # User 1 (1 item): with replacement; user 2 (none): -1.
    assert bool((out[:, 1] == 3).all()) and bool((out[:, 2] == -1).all())
    checked = exposure.sample(torch.tensor([0, 1]), 3, gen)
    assert checked.shape == (2, 3) and checked[1].tolist() == [3, 3, 3]
    with pytest.raises(ValueError, match="user 2 in 'users' has no exposed"):
        exposure.sample(torch.tensor([0, 2]), 2)
    with pytest.raises(ValueError, match="'users' must have shape"):
        exposure.sample(torch.tensor([[0]]), 2)
    with pytest.raises(ValueError, match="'users' holds"):
        exposure.sample(torch.tensor([3]), 2)
    with pytest.raises(ValueError, match="'num' must be non-negative"):
        exposure.sample(torch.tensor([0]), -1)


# ------------------------------------------------------------------ files
def _write(path, text, compress=False):
    data = text.encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize('compress', [False, True])
def test_read_lightgcn_file(tmp_path, compress):
    path = _write(tmp_path / 'exposure.txt', '0 3 4 1\n1 5\n', compress)
    exposure = Exposure.from_lightgcn_file(path, 3, 6, train_index=TRAIN)
    assert exposure.sizes().tolist() == [2, 1, 0]  # (0, 1) is a positive
    assert exposure.source == f'file {path}'
    assert str(path) in exposure.describe()


def test_read_falls_back_to_gz_and_reports_bad_files(tmp_path):
    _write(tmp_path / 'exposure.txt.gz', '2 5\n', compress=True)
    exposure = Exposure.from_lightgcn_file(tmp_path / 'exposure.txt', 3, 6)
    assert exposure.sizes().tolist() == [0, 0, 1]
    empty = _write(tmp_path / 'empty.txt', '0\n\n')
    with pytest.raises(ValueError, match="empty.txt' holds no exposure"):
        Exposure.from_lightgcn_file(empty, 3, 6)
    wide = _write(tmp_path / 'wide.txt', '0 1\n1 6\n')
    with pytest.raises(ValueError, match=r"wide.txt' holds item id 6, out "):
        Exposure.from_lightgcn_file(wide, 3, 6)
    users = _write(tmp_path / 'users.txt', '7 1\n')
    with pytest.raises(ValueError, match=r"users.txt' holds user id 7"):
        Exposure.from_lightgcn_file(users, 3, 6)
    bad = _write(tmp_path / 'bad.txt', '0 1\n1 -2\n')
    with pytest.raises(ValueError, match='Malformed line 2'):
        Exposure.from_lightgcn_file(bad, 3, 6)
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        Exposure.from_lightgcn_file(tmp_path / 'missing.txt', 3, 6)
    positives = _write(tmp_path / 'pos.txt', '0 0 1\n')
    with pytest.raises(ValueError, match='no exposure outside'):
        Exposure.from_lightgcn_file(positives, 3, 6, train_index=TRAIN)


# -------------------------------------------------------------- simulator
def test_popularity_simulation_by_hand():
    # Popularity order: 0 (3), 1 (2), 2 (1), then 3, 4, 5 (0; by id).
    exposure = Exposure.simulate(TRAIN, 3, 6, top_n=2)
    assert exposure.simulated and exposure.source == 'popularity top-2'
    assert exposure.describe().startswith('SIMULATED exposure')
    assert 'simulated=True' in repr(exposure)
    src, dst = exposure.index.edges()
    got = {(u, i) for u, i in zip(src.tolist(), dst.tolist())}
    # u0 saw 0, 1 -> 2, 3; u1 saw 0, 2 -> 1, 3; u2 saw 0, 1 -> 2, 3.
    assert got == {(0, 2), (0, 3), (1, 1), (1, 3), (2, 2), (2, 3)}
    everything = Exposure.simulate(TRAIN, 3, 6, top_n=10)
    assert everything.sizes().tolist() == [4, 4, 4]


def test_model_simulation_by_hand():
    user_emb = torch.tensor([[1.0], [-1.0], [0.0]])
    item_emb = torch.tensor([[5.0], [4.0], [3.0], [2.0], [1.0], [0.5]])
    exposure = Exposure.simulate(
        TRAIN, 3, 6, 1, user_emb=user_emb, item_emb=item_emb
    )
    assert exposure.simulated and exposure.source == 'model top-1'
    src, dst = exposure.index.edges()
    # u0: best unseen is 2; u1: lowest scores win for -1 -> 5; u2: all tie
    # at 0 among unseen 2..5: the first, 2.
    assert dst.tolist() == [2, 5, 2] and src.tolist() == [0, 1, 2]


def test_simulation_errors_and_a_user_who_saw_everything():
    full = torch.tensor([[0, 0, 1], [0, 1, 0]])
    exposure = Exposure.simulate(full, 2, 2, top_n=3)
    assert exposure.sizes().tolist() == [0, 1]
    with pytest.raises(ValueError, match='the simulation exposes nothing'):
        Exposure.simulate(torch.tensor([[0, 0], [0, 1]]), 1, 2)
    emb = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="give both 'user_emb' and"):
        Exposure.simulate(TRAIN, 3, 6, user_emb=emb)
    with pytest.raises(ValueError, match="'item_emb' must have 6 rows"):
        Exposure.simulate(TRAIN, 3, 6, user_emb=emb, item_emb=emb)
    with pytest.raises(ValueError, match='must have one width'):
        Exposure.simulate(
            TRAIN, 3, 6, user_emb=emb, item_emb=torch.zeros(6, 3)
        )
    nan = torch.full((6, 2), float('nan'))
    with pytest.raises(ValueError, match="'item_emb' must be finite"):
        Exposure.simulate(TRAIN, 3, 6, user_emb=emb, item_emb=nan)
    with pytest.raises(ValueError, match="'top_n' must be a positive"):
        Exposure.simulate(TRAIN, 3, 6, top_n=0)
    with pytest.raises(ValueError, match="'train_index'"):
        Exposure.simulate(TRAIN, 2, 6)
