import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.train import diagnostics as diag_module
from torch_geometric_negsamp.train.diagnostics import (
    DIAGNOSTIC_KEYS,
    NegativeDiagnostics,
)

# 2 users, 5 items. Training: user 0 has items 0, 1; user 1 has item 2.
TRAIN = torch.tensor([[0, 0, 1], [0, 1, 2]])
# Validation: user 0 likes item 2, user 1 item 3; (0, 1) is also a
# training pair (never a negative of a filtered sampler, so not counted).
VAL = torch.tensor([[0, 1, 0], [2, 3, 1]])


def _diag(**kwargs):
    return NegativeDiagnostics(TRAIN, VAL, 2, 5, **kwargs)


def test_a_negative_that_is_a_validation_positive_counts():
    d = _diag()
    users, pos = torch.tensor([0, 1]), torch.tensor([0, 2])
    # (0, 2) and (1, 3) twice are validation positives; (0, 4) is not.
    d.observe(users, pos, torch.tensor([[2, 4], [3, 3]]))
    out = d.summary()
    assert out['neg_false_negative_rate'] == 3 / 4
    assert out['neg_false_negative_split'] == 'val'
    assert list(out) == list(DIAGNOSTIC_KEYS)


def test_a_holdout_pair_that_is_also_a_training_pair_is_not_counted():
    d = _diag(holdout='test')
    d.observe(torch.tensor([0]), torch.tensor([0]), torch.tensor([[1, 4]]))
    out = d.summary()
    assert out['neg_false_negative_rate'] == 0.0
    assert out['neg_false_negative_split'] == 'test'


def test_popularity_ratio_is_a_hand_count():
    d = _diag()
    # Degrees: item 0: 1, item 1: 1, item 2: 1, items 3, 4: 0.
    d.observe(
        torch.tensor([0, 1]), torch.tensor([0, 2]), torch.tensor([[2], [3]])
    )
    # negatives: (1 + 0) / 2; positives: (1 + 1) / 2.
    assert d.summary()['neg_popularity_ratio'] == 0.5


def test_rates_sum_over_the_epoch_and_restart_at_reset():
    d = _diag()
    d.observe(torch.tensor([0]), torch.tensor([0]), torch.tensor([[2]]))
    d.observe(torch.tensor([0]), torch.tensor([0]), torch.tensor([[3]]))
    assert d.summary()['neg_false_negative_rate'] == 0.5
    d.reset(1)
    out = d.summary()
    assert out['neg_false_negative_rate'] is None
    assert out['neg_popularity_ratio'] is None


def test_hardness_is_one_for_the_top_item_and_zero_for_the_last():
    d = _diag(sample_size=8)
    user_emb = torch.tensor([[1.0], [-1.0]])
    item_emb = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])
    # User 0 scores item 4 highest; user 1 scores it lowest.
    d.observe(torch.tensor([0]), torch.tensor([0]), torch.tensor([[4]]))
    assert d.hardness(user_emb, item_emb) == 1.0
    d.reset(0)
    d.observe(torch.tensor([1]), torch.tensor([2]), torch.tensor([[4]]))
    assert d.hardness(user_emb, item_emb) == 0.0
    d.reset(0)
    # Item 1 for user 0: one item below (item 0) of 4 others.
    d.observe(torch.tensor([0]), torch.tensor([0]), torch.tensor([[1]]))
    assert d.summary(user_emb, item_emb)['neg_hardness'] == 1 / 4


def test_hardness_counts_ties_as_half():
    d = _diag(sample_size=8)
    user_emb = torch.ones(2, 1)
    item_emb = torch.tensor([[0.0], [1.0], [1.0], [1.0], [2.0]])
    d.observe(torch.tensor([0]), torch.tensor([0]), torch.tensor([[2]]))
    # One below, two ties besides itself: (1 + 0.5 * 2) / 4.
    assert d.hardness(user_emb, item_emb, batch_size=1) == 0.5


def test_hardness_averages_the_sampled_pairs_and_uses_score_fn():
    d = _diag(sample_size=16)
    user_emb = torch.tensor([[1.0], [1.0]])
    item_emb = torch.arange(5.0).view(-1, 1)
    d.observe(
        torch.tensor([0, 1]), torch.tensor([0, 2]), torch.tensor([[4], [0]])
    )
    assert d.hardness(user_emb, item_emb, batch_size=1) == 0.5
    # A score that reverses the order: item 4 last, item 0 first.
    flipped = d.hardness(user_emb, item_emb, score_fn=lambda u, i: -u @ i.t())
    assert flipped == 0.5
    d.reset(0)
    d.observe(torch.tensor([0]), torch.tensor([0]), torch.tensor([[4]]))
    assert (
        d.hardness(user_emb, item_emb, score_fn=lambda u, i: -u @ i.t()) == 0
    )


def test_sample_size_zero_and_synthetic_negatives_give_none():
    d = _diag(sample_size=0)
    d.observe(torch.tensor([0]), torch.tensor([0]), torch.tensor([[2]]))
    emb = torch.ones(5, 1)
    assert d.summary(emb[:2], emb)['neg_hardness'] is None
    d = _diag()
    # MixGCF: no real negative, the positives still count.
    d.observe(torch.tensor([0]), torch.tensor([0]), None)
    out = d.summary(emb[:2], emb)
    assert out['neg_false_negative_rate'] is None
    assert out['neg_hardness'] is None
    assert out['neg_popularity_ratio'] is None
    assert out['neg_short_rows'] == 0


def test_short_rows_padding_masks_and_dropped():
    dropped = [3]
    d = _diag(dropped=lambda: dropped[0])
    ids = torch.tensor([[2, -1], [3, 4], [4, 2]])
    masked = torch.tensor([[False, False], [True, True], [False, True]])
    d.observe(torch.tensor([0, 1, 0]), torch.tensor([0, 2, 1]), ids, masked)
    dropped[0] = 5  # the sampler dropped two more positives
    out = d.summary()
    # Row 0 padded, row 1 fully masked, plus 2 dropped.
    assert out['neg_short_rows'] == 4
    # Real negatives: (0, 2) and (0, 4); (0, 2) is a validation positive.
    assert out['neg_false_negative_rate'] == 0.5


def _expanded(users, cols, masked):
    ids = cols.view(1, -1).expand(users.numel(), -1)
    return ids, masked


@pytest.mark.parametrize('with_mask', [False, True])
def test_shared_columns_count_as_their_expansion(with_mask):
    gen = torch.Generator().manual_seed(0)
    train = torch.tensor([[0, 0, 1, 2, 3], [0, 1, 2, 3, 4]])
    val = torch.tensor([[0, 1, 2, 3, 3, 0], [5, 5, 6, 7, 6, 6]])
    users = torch.tensor([0, 1, 2, 3, 3, 0])
    pos = torch.tensor([0, 2, 3, 4, 4, 1])
    cols = torch.tensor([5, 6, 6, 7, 0, 2, 5])
    masked = None
    if with_mask:
        # Accidental hits: training positives of the row's user (some).
        hits = PositiveIndex(train, 4, 8).contains(users.view(-1, 1), cols)
        masked = hits & (torch.rand(6, 7, generator=gen) < 0.7)
        masked[2] = True  # a row with every column masked
        train = torch.cat([train, torch.stack([users[2].expand(7), cols])], 1)
    a = NegativeDiagnostics(train, val, 4, 8)
    b = NegativeDiagnostics(train, val, 4, 8)
    a.observe(users, pos, cols, masked)
    b.observe(users, pos, *_expanded(users, cols, masked))
    sa, sb = a.summary(), b.summary()
    assert sa == sb
    assert 0 < sa['neg_false_negative_rate'] < 1
    assert sa['neg_short_rows'] == (1 if with_mask else 0)


def test_shared_columns_hardness_equals_the_exact_mean_when_all_fit():
    train = torch.tensor([[0, 1], [0, 1]])
    d = NegativeDiagnostics(train, train[:, :0], 2, 6, sample_size=64)
    users, cols = torch.tensor([0, 1]), torch.tensor([2, 3, 5])
    d.observe(users, torch.tensor([0, 1]), cols)
    user_emb = torch.tensor([[1.0], [-1.0]])
    item_emb = torch.arange(6.0).view(-1, 1)
    # user 0: ranks 2/5, 3/5, 5/5; user 1: 3/5, 2/5, 0/5.
    assert d.hardness(user_emb, item_emb) == pytest.approx(15 / 30)


def test_subsampled_shared_columns_keep_a_full_sample_of_valid_pairs():
    train = torch.tensor([[0], [0]])
    d = NegativeDiagnostics(train, train[:, :0], 50, 100, sample_size=16)
    users = torch.arange(50)
    cols = torch.arange(1, 100)
    masked = torch.zeros(50, 99, dtype=torch.bool)
    masked[:, :50] = True
    for _ in range(4):
        d.observe(users, torch.zeros(50, dtype=torch.long), cols, masked)
    keep = torch.isfinite(d._keys)
    assert int(keep.sum()) == 16
    # Only unmasked pairs enter the sample.
    assert bool((d._pairs[1][keep] >= 51).all())


def test_the_sample_is_uniform_over_the_epoch_pairs():
    # 4 steps of 6 pairs each (item j + 6 * step for every row); a sample
    # of 6 of the 24 pairs: each pair is kept with probability 1/4.
    train = torch.tensor([[0], [0]])
    d = NegativeDiagnostics(train, train[:, :0], 3, 30, sample_size=6)
    counts = torch.zeros(30)
    trials = 1000
    for trial in range(trials):
        d.reset(trial)
        for step in range(4):
            ids = (torch.arange(6) + 6 * step).view(3, 2)
            d.observe(torch.arange(3), torch.zeros(3, dtype=torch.long), ids)
        counts += torch.bincount(d._pairs[1], minlength=30).float()
    observed = counts[:24]
    assert float(observed.sum()) == trials * 6
    assert float(counts[24:].sum()) == 0
    assert chisquare(observed.numpy()).pvalue > 1e-3


def test_the_sample_is_reproducible_from_the_seed():
    def run(seed):
        d = NegativeDiagnostics(TRAIN, VAL, 2, 5, sample_size=3)
        d.reset(seed)
        d.observe(
            torch.tensor([0, 1, 0]),
            torch.tensor([0, 2, 1]),
            torch.tensor([[2, 3], [3, 4], [4, 2]]),
        )
        return d._pairs.clone()

    assert torch.equal(run(5), run(5))
    assert any(not torch.equal(run(5), run(s)) for s in range(6, 12))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.integers(1, 6),
    st.integers(1, 4),
    st.booleans(),
)
def test_every_rate_is_in_the_unit_interval(seed, B, k, shared):
    gen = torch.Generator().manual_seed(seed)
    U, I = 4, 7
    train = torch.stack(
        [torch.arange(U), torch.randint(I, (U,), generator=gen)]
    )
    val = torch.stack(
        [torch.randint(U, (9,), generator=gen), torch.randint(I, (9,))]
    )
    d = NegativeDiagnostics(train, val, U, I, sample_size=5)
    users = torch.randint(U, (B,), generator=gen)
    pos = torch.randint(I, (B,), generator=gen)
    if shared:
        ids = torch.randint(I, (k,), generator=gen)
    else:
        ids = torch.randint(-1, I, (B, k), generator=gen)
    # Masked entries are accidental hits: training positives of the row.
    hits = PositiveIndex(train, U, I).contains(users.view(-1, 1), ids.abs())
    masked = hits & (torch.rand(B, k, generator=gen) < 0.5)
    d.observe(users, pos, ids, masked)
    emb = torch.randn(U + I, 3, generator=gen)
    out = d.summary(emb[:U], emb[U:])
    for key in ('neg_false_negative_rate', 'neg_hardness'):
        assert out[key] is None or 0.0 <= out[key] <= 1.0
    assert (
        out['neg_popularity_ratio'] is None or out['neg_popularity_ratio'] >= 0
    )
    assert 0 <= out['neg_short_rows'] <= B


def test_sampling_share_from_the_step_marks(monkeypatch):
    d = _diag()
    assert d.summary()['neg_sampling_share'] is None
    clock = iter([0.0, 1.0, 2.0, 4.0, 10.0, 10.5, 11.0, 14.0])
    monkeypatch.setattr(diag_module.time, 'perf_counter', lambda: next(clock))
    for _ in range(2):
        d.begin_step()
        d.begin_sampling()
        d.end_sampling()
        d.end_step()
    # Sampling 1 + 0.5 seconds of steps lasting 4 + 4.
    assert d.summary()['neg_sampling_share'] == 1.5 / 8


def test_a_step_timed_out_of_order_is_refused():
    d = _diag()
    d.begin_step()
    with pytest.raises(RuntimeError, match='got 2 marks'):
        d.end_step()


def test_bad_arguments():
    with pytest.raises(ValueError, match="'holdout' must be one of"):
        _diag(holdout='train')
    with pytest.raises(ValueError, match="'sample_size' must be non-neg"):
        _diag(sample_size=-1)
    with pytest.raises(TypeError, match="'dropped' must be callable"):
        _diag(dropped=3)
    with pytest.raises(ValueError, match="'holdout_index' holds item ids"):
        NegativeDiagnostics(TRAIN, torch.tensor([[0], [9]]), 2, 5)
    with pytest.raises(ValueError, match="'train_index' must have shape"):
        NegativeDiagnostics(TRAIN[0], VAL, 2, 5)
    d = _diag()
    with pytest.raises(ValueError, match=r"'ids' must have shape \[2, k\]"):
        d.observe(
            torch.tensor([0, 1]), torch.tensor([0, 2]), torch.zeros(3, 1)
        )
    with pytest.raises(ValueError, match=r"'masked' must have shape \[2, 3\]"):
        d.observe(
            torch.tensor([0, 1]),
            torch.tensor([0, 2]),
            torch.tensor([2, 3, 4]),
            torch.zeros(3, 2, dtype=torch.bool),
        )
    with pytest.raises(TypeError, match="'users' must be a"):
        d.observe([0], torch.tensor([0]), None)


def test_repr():
    assert repr(_diag(sample_size=7)) == (
        "NegativeDiagnostics(num_users=2, num_items=5, holdout='val', "
        'sample_size=7)'
    )


def test_hardness_of_an_empty_sample_is_none():
    d = _diag()
    assert d.hardness(torch.ones(2, 1), torch.ones(5, 1)) is None
    assert math.isinf(float(d._keys[0]))


class _FakeEvent:
    r"""Stands in for torch.cuda.Event: its time is the order of record."""

    clock = 0.0
    synchronized = 0

    def __init__(self, enable_timing=False):
        assert enable_timing
        self.time = None

    def record(self, stream=None):
        _FakeEvent.clock += 1.0
        self.time = _FakeEvent.clock

    def synchronize(self):
        _FakeEvent.synchronized += 1

    def elapsed_time(self, end):  # milliseconds
        return 1000 * (end.time - self.time)


def test_cuda_steps_are_timed_with_events_read_at_summary(monkeypatch):
    d = _diag()
    d._cuda = True
    monkeypatch.setattr(diag_module.torch.cuda, 'Event', _FakeEvent)
    monkeypatch.setattr(
        diag_module.torch.cuda, 'current_stream', lambda device: None
    )
    for _ in range(3):
        d.begin_step()
        d.begin_sampling()
        d.end_sampling()
        d.end_step()
    assert _FakeEvent.synchronized == 0  # nothing waits during the steps
    # Each step: sampling 1 of the 3 seconds between its first and last mark.
    assert d.summary()['neg_sampling_share'] == pytest.approx(1 / 3)
    assert _FakeEvent.synchronized == 1
