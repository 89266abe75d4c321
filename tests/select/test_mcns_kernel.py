r"""The kernel of MCNS: acceptance ratios by hand, the chains' law."""

import math

import numpy as np
import pytest
import torch
from mcns_graphs import ITEM
from mcns_graphs import make_mcns as _make
from mcns_graphs import one as _one
from scipy.stats import chisquare


# --------------------------------------------------- acceptance by hand
def test_acceptance_ratio_by_hand_region():
    mcns = _make(seed=0)
    user = torch.ones(1, 1)

    def accept(x, y, u=0):
        return mcns.acceptance_probability(
            _one(u), _one(x), _one(y), user, ITEM
        ).item()

    # q_0(3) = 0.5 / 4 (global only), q_0(2) = 0.5 / 4 + 0.5 / |I_0| = 0.625
    expected = (2.0**0.25 * 0.125) / (0.5**0.25 * 0.625)
    assert accept(3, 2) == pytest.approx(expected)
    assert accept(2, 3) == 1.0
    assert accept(3, 0) == 0.0  # a positive: never
    # 4 scores -1: max(s, eps) ** alpha with eps = 1e-6, no NaN
    assert accept(3, 4) == pytest.approx((1e-6 / 0.5) ** 0.25)
    # user 2 has an empty region: q = 1/4 both ways
    assert accept(5, 2, u=2) == 1.0
    assert accept(2, 5, u=2) == pytest.approx((1.0 / 2.0) ** 0.25)
    assert mcns.proposal_log_prob(_one(0), _one(2)).exp().item() == (
        pytest.approx(0.625)
    )
    assert mcns.proposal_log_prob(_one(0), _one(0)).item() == -math.inf
    code = _make(seed=0, f='code', alpha=0.5)
    sig = torch.sigmoid(torch.tensor([2.0**0.5, 0.5**0.5, 0.0])).tolist()
    got = code.acceptance_probability(
        torch.tensor([0, 0]),
        torch.tensor([3, 4]),
        torch.tensor([2, 3]),
        torch.ones(2, 1),
        ITEM,
    )
    assert got[0].item() == pytest.approx(sig[0] * 0.125 / (sig[1] * 0.625))
    assert got[1].item() == 1.0  # sigma(0) = 0.5 < sigma(0.5 ** 0.5)


def test_acceptance_ratio_by_hand_state():
    mcns = _make('state', seed=0)
    user = torch.ones(1, 1)

    def accept(x, y):
        return mcns.acceptance_probability(
            _one(0), _one(x), _one(y), user, ITEM
        ).item()

    # 4 in N(3) and 3 in N(4), both sets of size 1:
    # q(4 | 3) = q(3 | 4) = 0.5 / 4 + 0.5
    assert accept(3, 4) == pytest.approx((1e-6 / 0.5) ** 0.25)
    # N(5) is empty: q(2 | 5) = 1/4; 5 is not in N(2): q(5 | 2) = 0.5 / 4
    assert accept(5, 2) == pytest.approx(2.0**0.25 * 0.125 / 0.25)
    assert accept(2, 5) == 1.0
    users, current = torch.tensor([0, 0, 0]), torch.tensor([3, 5, 2])
    q = mcns.proposal_log_prob(users, torch.tensor([4, 2, 1]), current).exp()
    assert q[0].item() == pytest.approx(0.625)
    assert q[1].item() == pytest.approx(0.25)
    assert q[2].item() == pytest.approx(0.5)  # 1 is a positive of user 0


# ----------------------------------------------------------- chains
def _population(n):
    r"""n users with positives {0, 1} (so I_u = {2}, non-positives
    {2, 3, 4, 5}); user n holds {1, 2}, user n + 1 holds {2, 3, 5}, so that
    N(2) = {0, 1, 3, 5}, N(3) = {2, 5}, N(5) = {2, 3}."""
    users = torch.arange(n)
    src = torch.cat([users, users, torch.tensor([n, n, n + 1, n + 1, n + 1])])
    dst = torch.cat(
        [torch.zeros(n), torch.ones(n), torch.tensor([1, 2, 2, 3, 5])]
    )
    return torch.stack([src, dst.long()]), (n + 2, 6)


def _weights(scores, f, alpha):
    s = np.asarray(scores, dtype=float)
    if f == 'power':
        return np.maximum(s, 1e-6) ** alpha
    return 1.0 / (1.0 + np.exp(-(np.maximum(s, 0.0) ** alpha)))


@pytest.mark.parametrize(
    'proposal,f,alpha,share',
    [
        ('region', 'power', 0.25, 0.5),
        ('region', 'power', 1.0, 0.3),
        ('region', 'code', 0.5, 0.5),
        ('state', 'power', 1.0, 0.5),
    ],
)
def test_long_chains_follow_the_target(proposal, f, alpha, share):
    n = 300
    train, num = _population(n)
    mcns = _make(
        proposal,
        train,
        num,
        f=f,
        alpha=alpha,
        global_share=share,
        burn_in=20,
        steps_per_draw=5,
        seed=0,
    )
    scores = [2.0, 0.5, -0.5 if f == 'code' else 0.25, 1.0]  # items 2..5
    item_emb = torch.tensor([[0.3], [0.7]] + [[s] for s in scores])
    users = torch.arange(n)
    user_emb = torch.ones(n, 1)
    w = _weights(scores, f, alpha)
    expected = w / w.sum()
    target = mcns.target_log_prob(users[:1], user_emb[:1], item_emb).exp()
    assert target[0, :2].tolist() == [0.0, 0.0]
    assert np.allclose(target[0, 2:].numpy(), expected)
    for _ in range(2):  # the second call continues the chains
        out = mcns(users, user_emb, item_emb, k=8)
        counts = torch.bincount(out.view(-1), minlength=6).numpy()
        assert counts[:2].sum() == 0
        pvalue = chisquare(counts[2:], expected * out.numel()).pvalue
        assert pvalue > 1e-3, (counts, expected)


def test_one_step_moves_as_the_kernel_says():
    # Every chain stands on 3; one step goes to y with q(y) A(3, y).
    n = 4000
    train, num = _population(n)
    mcns = _make('region', train, num, alpha=1.0, burn_in=5, seed=1)
    state = mcns.state_dict()
    state['state'] = torch.tensor([3] * n + [-1, -1])  # helpers unstarted
    mcns.load_state_dict(state)
    item_emb = torch.tensor([[0.0], [0.0], [2.0], [0.5], [0.25], [1.0]])
    out = mcns(torch.arange(n), torch.ones(n, 1), item_emb)
    assert mcns.statistics()['proposed'] == n  # no burn-in: all started
    pi = {2: 2.0, 3: 0.5, 4: 0.25, 5: 1.0}
    q = {2: 0.125 + 0.5, 3: 0.125, 4: 0.125, 5: 0.125}
    move = {
        y: q[y] * min(1.0, pi[y] * q[3] / (pi[3] * q[y])) for y in (2, 4, 5)
    }
    expected = [move[2], 1 - sum(move.values()), move[4], move[5]]
    counts = torch.bincount(out.view(-1), minlength=6).numpy()[2:]
    assert chisquare(counts, np.array(expected) * n).pvalue > 1e-3
