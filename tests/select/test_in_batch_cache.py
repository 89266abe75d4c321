import math

import pytest
import torch

from torch_geometric_negsamp import PositiveIndex, UniformSampler
from torch_geometric_negsamp.losses import sampled_softmax_loss
from torch_geometric_negsamp.select import (
    InBatchNegatives,
    MemoryQueue,
    NegativeCache,
    item_log_frequency,
)


def _train():
    # users 0..2, items 0..4
    return torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, 2, 4]])


def test_in_batch_masks_exactly_the_accidental_hits():
    train = _train()
    index = PositiveIndex(train, 3, 5)
    users = torch.tensor([0, 1, 2, 0])
    items = torch.tensor([0, 1, 2, 1])
    user_emb, item_emb = torch.randn(4, 3), torch.randn(4, 3)
    out = InBatchNegatives(index)(users, items, user_emb, item_emb)
    assert out.neg.shape == out.accidental_hits.shape == (4, 4)
    assert torch.allclose(out.neg, user_emb @ item_emb.t())
    assert torch.allclose(out.pos, out.neg.diagonal())
    expected = torch.zeros(4, 4, dtype=torch.bool)
    for i, (u, v) in enumerate(zip(users.tolist(), items.tolist())):
        for j, w in enumerate(items.tolist()):
            expected[i, j] = w == v or bool(
                index.contains(torch.tensor([u]), torch.tensor([w]))
            )
    assert torch.equal(out.accidental_hits, expected)
    # Without an index only the row's own positive item is masked:
    plain = InBatchNegatives()(users, items, user_emb, item_emb)
    assert torch.equal(
        plain.accidental_hits, items.view(1, -1) == items.view(-1, 1)
    )


def test_in_batch_logq_and_mixed_pool():
    train = _train()
    log_q = item_log_frequency(train, 5)
    assert torch.allclose(
        log_q.exp()[[0, 1, 2, 4]].double(),
        torch.tensor([0.2, 0.4, 0.2, 0.2], dtype=torch.double),
    )
    assert log_q[3] == float('-inf')
    users, items = torch.tensor([0, 1]), torch.tensor([0, 1])
    pool = torch.tensor([3, 4, 1])
    ue, ie, pe = torch.randn(2, 3), torch.randn(2, 3), torch.randn(3, 3)
    sel = InBatchNegatives(PositiveIndex(train, 3, 5), log_q, num_items=5)
    out = sel(users, items, ue, ie, pool, pe)
    assert out.neg.shape == (2, 5)
    assert out.neg_items.tolist() == [[0, 1, 3, 4, 1], [0, 1, 3, 4, 1]]
    # row 0 (user 0: items 0, 1): hits at 0, 1 and the pool's 1
    assert out.accidental_hits[0].tolist() == [True, True, False, False, True]
    assert out.accidental_hits[1].tolist() == [False, True, False, False, True]
    assert torch.allclose(
        out.log_q_neg[0, :2].double(), log_q[items].double() + math.log(2)
    )
    assert torch.allclose(
        out.log_q_neg[0, 2:].double(),
        torch.full((3,), math.log(3 / 5), dtype=torch.double),
    )
    loss = sampled_softmax_loss(
        out.pos,
        out.neg,
        log_q_pos=out.log_q_pos,
        log_q_neg=out.log_q_neg,
        accidental_hits=out.accidental_hits,
    )
    assert torch.isfinite(loss)


def test_in_batch_errors():
    sel = InBatchNegatives()
    u, e = torch.tensor([0, 1]), torch.randn(2, 3)
    with pytest.raises(ValueError, match="'users' and 'items' must both"):
        sel(u, torch.tensor([0]), e, e)
    with pytest.raises(ValueError, match="'user_emb' and 'item_emb' must"):
        sel(u, u, e, torch.randn(2, 4))
    with pytest.raises(ValueError, match="both 'pool_items' and 'pool_emb'"):
        sel(u, u, e, e, pool_items=u)
    with pytest.raises(ValueError, match="'pool_emb' must have shape"):
        sel(u, u, e, e, u, torch.randn(3, 3))
    with pytest.raises(TypeError, match="'index' must be a PositiveIndex"):
        InBatchNegatives(index=3)
    with pytest.raises(TypeError, match="'item_log_q' must be a 1-D"):
        InBatchNegatives(item_log_q=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="'num_items' is needed"):
        InBatchNegatives(item_log_q=torch.zeros(5))(u, u, e, e, u, e)


def test_cache_keeps_size_never_holds_positives_and_gets_harder():
    train = _train()
    sampler = UniformSampler(seed=0).fit(train, (3, 5))
    cache = NegativeCache(sampler, 3, cache_size=2, num_fresh=3, seed=0)
    positives = {(u, v) for u, v in train.t().tolist()}
    target = torch.tensor([3.0, 0.0, 1.0, 4.0, 2.0])  # item 3 is hardest

    def score_fn(src, items):
        return target[items] * 10

    for _ in range(10):
        cache.update(torch.tensor([0, 1, 2, 0]), score_fn)
        assert cache.cache.shape == (3, 2)
        for u, row in enumerate(cache.cache.tolist()):
            assert all((u, v) not in positives for v in row)
            assert (
                len(set(row)) == len(row)
                or len({v for v in range(5) if (u, v) not in positives}) < 2
            )
    # With a sharp softmax the hardest allowed items fill the caches:
    assert set(cache.cache[0].tolist()) == {3, 4}
    assert set(cache.cache[1].tolist()) == {3, 0}
    assert set(cache.cache[2].tolist()) == {3, 0}  # user 2 holds 2 and 4
    neg = cache.sample(torch.tensor([0, 1]), 4)
    assert neg.shape == (2, 4)
    assert set(neg[0].tolist()) <= {3, 4}


def test_cache_errors():
    sampler = UniformSampler()
    with pytest.raises(ValueError, match='must be fitted'):
        NegativeCache(sampler, 3)
    with pytest.raises(TypeError, match="'sampler' must be a NegativeSampler"):
        NegativeCache(None, 3)
    sampler.fit(_train(), (3, 5))
    with pytest.raises(ValueError, match="'cache_size' must be a positive"):
        NegativeCache(sampler, 3, cache_size=0)
    cache = NegativeCache(sampler, 3, cache_size=2, num_fresh=2)
    with pytest.raises(ValueError, match="'score_fn' must return scores"):
        cache.update(torch.tensor([0]), lambda s, i: torch.zeros(1))


def test_memory_queue_is_fifo_and_bounded():
    queue = MemoryQueue(4, dim=2)
    with pytest.raises(RuntimeError, match='the queue is empty'):
        queue.negatives()
    queue.push(torch.tensor([1, 2, 3]), torch.ones(3, 2))
    queue.push(torch.tensor([4, 5]), torch.zeros(2, 2))
    items, emb = queue.negatives()
    assert items.tolist() == [2, 3, 4, 5] and len(queue) == 4
    assert emb.tolist() == [[1, 1], [1, 1], [0, 0], [0, 0]]
    with pytest.raises(ValueError, match="'emb' must be given exactly"):
        queue.push(torch.tensor([1]))
    with pytest.raises(ValueError, match="'emb' must have shape"):
        queue.push(torch.tensor([1]), torch.zeros(1, 3))
    ids = MemoryQueue(2)
    ids.push(torch.tensor([7, 8, 9]))
    assert ids.negatives()[0].tolist() == [8, 9] and ids.negatives()[1] is None
    with pytest.raises(ValueError, match="'size' must be a positive"):
        MemoryQueue(0)


def test_cache_refuses_samplers_that_could_break_its_rows():
    train = _train()
    for kwargs in (dict(on_unsatisfiable='drop'), dict(filtered=False)):
        sampler = UniformSampler(**kwargs).fit(train, (3, 5))
        with pytest.raises(ValueError, match="'sampler' must be filtered"):
            NegativeCache(sampler, 3)
