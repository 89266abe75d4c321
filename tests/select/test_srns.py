import math

import pytest
import torch
from scipy.stats import chisquare
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp import UniformSampler
from torch_geometric_negsamp.select import SRNS


def _train():
    # users 0..2, items 0..5
    return torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, 2, 4]])


def _positives():
    return set(map(tuple, _train().t().tolist()))


def _sampler(seed=0, num_items=6):
    return UniformSampler(seed=seed).fit(_train(), (3, num_items))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _record_values(srns, epoch, values):
    r"""Records h = values[u][c] (reference 0: sigma(logit(h)) = h)."""
    table = torch.tensor(values).double().apply_(_logit).float()

    def score_fn(users, items):
        cols = torch.arange(items.size(1)).expand_as(items)
        return table[users[:, None], cols]

    srns.record(epoch, score_fn, torch.zeros(srns.num_users))


def test_std_over_the_window_by_hand():
    srns = SRNS(_sampler(), 1, pool_size=2, window=3, refresh=False)
    users, positions = torch.tensor([0]), torch.tensor([[0, 1]])
    assert srns.std(users, positions, 0).tolist() == [[0.0, 0.0]]
    _record_values(srns, 0, [[0.2, 0.5]])
    # One record: no spread yet.
    assert srns.std(users, positions, 0).tolist() == [[0.0, 0.0]]
    _record_values(srns, 1, [[0.4, 0.5]])
    _record_values(srns, 2, [[0.6, 0.5]])
    # (0.2, 0.4, 0.6): population std sqrt(0.08 / 3); (0.5, 0.5, 0.5): 0.
    std = srns.std(users, positions, 2)
    assert std[0, 0].item() == pytest.approx(math.sqrt(0.08 / 3), rel=1e-5)
    assert std[0, 1].item() == pytest.approx(0.0, abs=1e-6)
    # Epoch 3 overwrites epoch 0's slot: (0.4, 0.6, 0.9).
    _record_values(srns, 3, [[0.9, 0.5]])
    values = torch.tensor([0.4, 0.6, 0.9])
    expected = float(values.std(unbiased=False))
    got = srns.std(users, positions, 3)[0, 0].item()
    assert got == pytest.approx(expected, rel=1e-5)
    assert srns.last_recorded == 3
    # At epoch 4 the window (1, 4] holds epochs 2 and 3: (0.6, 0.9).
    expected = float(torch.tensor([0.6, 0.9]).std(unbiased=False))
    got = srns.std(users, positions, 4)[0, 0].item()
    assert got == pytest.approx(expected, rel=1e-5)
    # At epoch 5 only epoch 3 is left; far later nothing.
    assert srns.std(users, positions, 5).tolist() == [[0.0, 0.0]]
    assert srns.std(users, positions, 9).tolist() == [[0.0, 0.0]]


def test_selection_rule_by_hand():
    # Entry 0: stable and hard (h = 0.9 every epoch: a false negative by
    # the rule); entry 1: easier now but fluctuating.
    srns = SRNS(_sampler(), 1, pool_size=2, window=3, alpha=5.0, warmup=4)
    srns.refresh = False
    for epoch, h1 in enumerate((0.2, 0.6, 0.2)):
        _record_values(srns, epoch, [[0.9, h1]])
    std1 = float(torch.tensor([0.2, 0.6, 0.2]).std(unbiased=False))
    users, positions = torch.tensor([0]), torch.tensor([[0, 1]])
    pos = torch.tensor([1.0])
    scores = torch.tensor([[1.0 + _logit(0.9), 1.0 + _logit(0.7)]])
    # l = (0.9, 0.7). Epoch 0: ramp 0, the hardest: entry 0.
    assert srns(users, positions, scores, pos, epoch=0).tolist() == [[0]]
    # Epoch 2: ramp 0.5: 0.7 + 5 * 0.5 * 0.189 = 1.17 > 0.9: entry 1.
    assert 0.7 + 2.5 * std1 > 0.9
    assert srns(users, positions, scores, pos, epoch=2).tolist() == [[1]]
    # Without the spread term the hardest again:
    srns.alpha = 0.0
    assert srns(users, positions, scores, pos, epoch=2).tolist() == [[0]]
    # k = 2 ranks both, best first:
    srns.alpha, srns.k = 5.0, 2
    assert srns(users, positions, scores, pos, epoch=2).tolist() == [[1, 0]]


def test_refresh_redraws_one_share_of_the_pool_per_epoch():
    sampler = _sampler(num_items=40)
    srns = SRNS(sampler, 3, pool_size=10, window=5)
    positives = _positives()
    before = srns.pool.clone()
    _record_values(srns, 7, [[0.5] * 10] * 3)  # slot 2: columns 2 and 7
    after = srns.pool
    changed = (after != before).any(0).nonzero().view(-1).tolist()
    assert set(changed) <= {2, 7} and changed  # (equal draws are possible)
    assert torch.equal(
        after[:, [0, 1, 3, 4, 5, 6, 8, 9]], before[:, [0, 1, 3, 4, 5, 6, 8, 9]]
    )
    for epoch in range(8, 30):
        _record_values(srns, epoch, [[0.5] * 10] * 3)
        for u, row in enumerate(srns.pool.tolist()):
            assert all((u, v) not in positives for v in row)
    # The history of a redrawn entry restarts: only this epoch's record.
    history = srns.history[:, 0, 29 % 5]
    assert int((history >= 0).sum()) == 1
    assert int((srns.history[:, 0, (29 + 1) % 5] >= 0).sum()) == 5


def test_propose_draws_pool_entries_uniformly():
    srns = SRNS(_sampler(), 3, pool_size=8, seed=0, refresh=False)
    users = torch.tensor([1]).repeat(4000)
    positions, items = srns.propose(users, 2)
    assert positions.shape == items.shape == (4000, 2)
    assert torch.equal(items, srns.pool[users[:, None], positions])
    counts = torch.bincount(positions.view(-1), minlength=8)
    assert chisquare(counts.numpy()).pvalue > 1e-3


def test_memory_is_bounded_and_refused_before_allocation():
    with pytest.raises(ValueError, match="'window' asks for the score"):
        SRNS(_sampler(), 3, pool_size=4, window=2**40)
    with pytest.raises(ValueError, match="'pool_size' asks for the pools"):
        SRNS(_sampler(), 3, pool_size=2**61)


def test_score_fn_and_reference_are_checked():
    srns = SRNS(_sampler(), 3, pool_size=4)
    zeros = torch.zeros(3)
    with pytest.raises(TypeError, match="'score_fn' must be callable"):
        srns.record(0, None, zeros)
    with pytest.raises(TypeError, match="'score_fn' must return a floating"):
        srns.record(0, lambda u, i: i, zeros)
    with pytest.raises(ValueError, match="'score_fn' must return scores of"):
        srns.record(0, lambda u, i: torch.zeros(1), zeros)
    with pytest.raises(ValueError, match="'score_fn' must return scores on"):
        srns.record(0, lambda u, i: torch.zeros(i.shape, device='meta'), zeros)
    with pytest.raises(ValueError, match="'score_fn' must be finite"):
        srns.record(0, lambda u, i: torch.full(i.shape, math.nan), zeros)
    with pytest.raises(ValueError, match="'reference' must hold one score"):
        srns.record(0, lambda u, i: i.float(), torch.zeros(2))
    with pytest.raises(ValueError, match="'reference' must be finite"):
        srns.record(0, lambda u, i: i.float(), torch.full((3,), math.inf))
    with pytest.raises(ValueError, match="'epoch' must be non-negative"):
        srns.record(-1, lambda u, i: i.float(), zeros)
    # Nothing was recorded by the failed calls:
    assert srns.last_recorded == -1
    assert bool((srns.history == -1).all())


def test_srns_call_errors():
    srns = SRNS(_sampler(), 3, pool_size=4)
    users, positions = torch.tensor([0, 1]), torch.tensor([[0, 1], [2, 3]])
    scores, pos = torch.zeros(2, 2), torch.zeros(2)
    with pytest.raises(ValueError, match="'positions' holds pool entry id 4"):
        srns(users, torch.tensor([[0, 4], [0, 0]]), scores, pos, 0)
    with pytest.raises(ValueError, match="'positions' must have one row"):
        srns(users, positions[:1], scores[:1], pos, 0)
    with pytest.raises(ValueError, match="'scores' must have the shape of"):
        srns(users, positions, scores[:, :1], pos, 0)
    with pytest.raises(ValueError, match="'pos_scores' must hold one score"):
        srns(users, positions, scores, pos[:1], 0)
    with pytest.raises(ValueError, match=r"'k' \(3\) cannot exceed"):
        SRNS(_sampler(), 3, pool_size=4, k=3)(users, positions, scores, pos, 0)
    with pytest.raises(ValueError, match="'users' holds user id 3"):
        srns.propose(torch.tensor([3]), 2)
    with pytest.raises(ValueError, match="'num' must be a positive"):
        srns.propose(users, 0)


class TestSRNSContract(SelectorContract):
    selector_class = SRNS
    id_bounds = {'users': 3}
    error_names = {'table': 'score_fn'}
    tensor_inputs = ['users', 'reference']
    repr_contains = (
        'num_users=3',
        'pool_size=4',
        'window=2',
        'alpha=5.0',
        'warmup=1',
        'k=2',
        'refresh=True',
    )

    def make(self, **kwargs):
        return SRNS(
            _sampler(),
            3,
            pool_size=4,
            window=2,
            warmup=1,
            k=2,
            **kwargs,
        )

    def inputs(self, device='cpu'):
        gen = torch.Generator().manual_seed(0)
        return {
            'users': torch.tensor([0, 1, 2, 0], device=device),
            'table': torch.randn(3, 6, generator=gen).to(device),
            'reference': torch.tensor([0.5, 0.0, -0.5], device=device),
        }

    def call(self, selector, users, table, reference):
        def score_fn(u, items):
            return table[u[:, None], items]

        epoch = selector.last_recorded + 1
        # Each step checks its own inputs before it changes anything; the
        # steps that check the users and the scores come first:
        selector.std(users, torch.zeros(4, 1, dtype=torch.long), epoch)
        selector.record(epoch, score_fn, reference)
        positions, items = selector.propose(users, 3)
        scores = table[users[:, None], items]
        pos_scores = table[users].max(1).values
        index = selector(users, positions, scores, pos_scores, epoch)
        return selector.pool.clone(), items.gather(1, index)

    def expected_shapes(self, inputs):
        return [(3, 4), (4, 2)]

    def check_outputs(self, selector, inputs, outputs):
        pool, neg = outputs
        positives = _positives()
        for u, row in enumerate(pool.tolist()):
            assert all((u, v) not in positives for v in row)
        for u, row in zip(inputs['users'].tolist(), neg.tolist()):
            assert set(row) <= set(pool[u].tolist())

    def prepare_resume(self, source, target):
        # The refreshed entries come from the sampler's own stream:
        source.sampler.reseed(11)
        target.sampler.reseed(11)

    def bad_calls(self):
        return [
            Bad(
                'users-2d',
                lambda x: {**x, 'users': x['users'].view(2, 2)},
                ValueError,
                "'users' must have 1 dim",
            ),
            Bad(
                'reference-short',
                lambda x: {**x, 'reference': x['reference'][:2]},
                ValueError,
                "'reference' must hold one score per user",
            ),
        ]

    def bad_constructions(self):
        fitted = _sampler()
        return [
            Bad(
                'sampler-none',
                lambda: SRNS(None, 3),
                TypeError,
                "'sampler' must be a NegativeSampler",
            ),
            Bad(
                'sampler-unfitted',
                lambda: SRNS(UniformSampler(), 3),
                ValueError,
                "'sampler' must be fitted",
            ),
            Bad(
                'sampler-unfiltered',
                lambda: SRNS(
                    UniformSampler(filtered=False).fit(_train(), (3, 6)), 3
                ),
                ValueError,
                "'sampler' must be filtered",
            ),
            Bad(
                'num-users-too-many',
                lambda: SRNS(fitted, 4),
                ValueError,
                "'num_users' must be at most",
            ),
            Bad(
                'pool-zero',
                lambda: SRNS(fitted, 3, pool_size=0),
                ValueError,
                "'pool_size'",
            ),
            Bad(
                'window-zero',
                lambda: SRNS(fitted, 3, window=0),
                ValueError,
                "'window'",
            ),
            Bad(
                'alpha-neg',
                lambda: SRNS(fitted, 3, alpha=-1.0),
                ValueError,
                "'alpha'",
            ),
            Bad(
                'warmup-neg',
                lambda: SRNS(fitted, 3, warmup=-1),
                ValueError,
                "'warmup'",
            ),
            Bad('k-zero', lambda: SRNS(fitted, 3, k=0), ValueError, "'k'"),
            Bad(
                'refresh-int',
                lambda: SRNS(fitted, 3, refresh=1),
                TypeError,
                "'refresh'",
            ),
        ]

    def bad_states(self):
        def positive(state):
            pool = state['pool'].clone()
            pool[1, 0] = 1  # (1, 1) is a training pair
            return {**state, 'pool': pool}

        def out_of_range(state):
            pool = state['pool'].clone()
            pool[2, 1] = 6
            return {**state, 'pool': pool}

        def history(state):
            values = state['history'].clone()
            values[0, 0, 0] = 2.0
            return {**state, 'history': values}

        def stamps(state):
            return {**state, 'stamps': torch.tensor([-5, 0])}

        return [
            Bad('pool-positive', positive, ValueError, 'known positives'),
            Bad('pool-id-6', out_of_range, ValueError, 'item id 6'),
            Bad('history-2', history, ValueError, "'history' must hold"),
            Bad('stamps-5', stamps, ValueError, "'stamps' must hold"),
        ]
