import math

import pytest
import torch
from scipy.stats import chisquare, kstest
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.select import RecNSO

# e_u = (1, 0), e_v = (0, 1) and three candidates: s(u, c) = [2, 0, 1],
# s(v, c) = [0, 1, -1]. Asymmetric: alpha and 1 - alpha give other laws.
USER = torch.tensor([[1.0, 0.0]])
POS = torch.tensor([[0.0, 1.0]])
CAND = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [1.0, -1.0]]])
S_U, S_V = [2.0, 0.0, 1.0], [0.0, 1.0, -1.0]


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def law(alpha, weighting):
    r"""Equation (7) by hand: P(c_m) for the fixture."""
    z = [alpha * a + (1 - alpha) * b for a, b in zip(S_U, S_V)]
    if weighting == 'sigmoid':
        w = [sigmoid(x) for x in z]
    else:
        w = [math.exp(sigmoid(x)) for x in z]
    return [x / sum(w) for x in w]


def test_the_fixture_tells_the_laws_apart():
    # alpha = 0.25: z = [0.5, 0.75, -0.5].
    assert law(0.25, 'sigmoid') == pytest.approx(
        [
            sigmoid(0.5) / (sigmoid(0.5) + sigmoid(0.75) + sigmoid(-0.5)),
            sigmoid(0.75) / (sigmoid(0.5) + sigmoid(0.75) + sigmoid(-0.5)),
            sigmoid(-0.5) / (sigmoid(0.5) + sigmoid(0.75) + sigmoid(-0.5)),
        ]
    )
    assert law(0.25, 'sigmoid') != pytest.approx(law(0.75, 'sigmoid'))
    assert law(0.25, 'sigmoid') != pytest.approx(law(0.25, 'softmax'))


@pytest.mark.parametrize('weighting', ['sigmoid', 'softmax'])
@pytest.mark.parametrize('alpha', [0.0, 0.25, 1.0])
def test_log_prob_is_equation_7_by_hand(weighting, alpha):
    selector = RecNSO(k=4, alpha=alpha, weighting=weighting, seed=0)
    index, log_prob = selector(USER, POS, CAND)
    assert index.shape == (1, 4) and log_prob.shape == (1, 4)
    want = law(alpha, weighting)
    for i, lp in zip(index[0].tolist(), log_prob[0].tolist()):
        assert lp == pytest.approx(math.log(want[i]), rel=1e-6)


def test_random_alpha_is_drawn_per_candidate_and_used():
    selector = RecNSO(k=3, seed=1)
    B = 4000
    index, log_prob, alpha = selector(
        USER.repeat(B, 1), POS.repeat(B, 1), CAND.repeat(B, 1, 1), True
    )
    assert alpha.shape == (B, 3)
    # Fresh per candidate: uniform on [0, 1), not constant along a row.
    assert kstest(alpha.view(-1).numpy(), 'uniform').pvalue > 1e-3
    assert bool((alpha[:, 0] != alpha[:, 1]).any())
    # The log-probabilities follow eq. (7) with the drawn alphas.
    for row in range(5):
        a = alpha[row].tolist()
        z = [x * su + (1 - x) * sv for x, su, sv in zip(a, S_U, S_V)]
        w = [sigmoid(v) for v in z]
        for i, lp in zip(index[row].tolist(), log_prob[row].tolist()):
            assert lp == pytest.approx(math.log(w[i] / sum(w)), rel=1e-5)


@pytest.mark.parametrize('weighting', ['sigmoid', 'softmax'])
def test_draws_follow_the_law(weighting):
    # 3 draws with replacement from each of n pools: counts against the
    # hand-computed law, which the other weighting's law does not match.
    n = 10000
    selector = RecNSO(k=3, alpha=0.25, weighting=weighting, seed=2)
    index, _ = selector(
        USER.repeat(n, 1), POS.repeat(n, 1), CAND.repeat(n, 1, 1)
    )
    counts = torch.bincount(index.view(-1), minlength=3).numpy()
    total = 3 * n
    want = [p * total for p in law(0.25, weighting)]
    assert chisquare(counts, want).pvalue > 1e-3
    other = 'softmax' if weighting == 'sigmoid' else 'sigmoid'
    assert (
        chisquare(counts, [p * total for p in law(0.25, other)]).pvalue < 1e-6
    )
    # With replacement: rows repeat a candidate.
    assert bool((index[:, 0] == index[:, 1]).any())


def test_more_negatives_than_candidates_and_no_gradient():
    user = USER.clone().requires_grad_()
    index, log_prob = RecNSO(k=7, alpha=0.5, seed=3)(user, POS, CAND)
    assert index.shape == (1, 7) and bool((index < 3).all())
    assert not log_prob.requires_grad


def test_errors():
    with pytest.raises(ValueError, match="'alpha' must be in"):
        RecNSO(alpha=1.5)
    with pytest.raises(TypeError, match="'alpha' must be a float"):
        RecNSO(alpha='random')
    with pytest.raises(ValueError, match="'weighting' must be one of"):
        RecNSO(weighting='linear')
    with pytest.raises(ValueError, match="'k' must be a positive"):
        RecNSO(k=0)
    sel = RecNSO(seed=0)
    with pytest.raises(ValueError, match="'pos_emb' must have the shape"):
        sel(USER, POS[:, :1], CAND)
    with pytest.raises(ValueError, match=r"'cand_emb' must have shape \[1, M"):
        sel(USER, POS, CAND[:, :, :1])
    with pytest.raises(ValueError, match="'cand_emb' holds an empty"):
        sel(USER, POS, CAND[:, :0])
    with pytest.raises(TypeError, match="'return_alpha' must be a bool"):
        sel(USER, POS, CAND, 1)


class TestRecNSOContract(SelectorContract):
    selector_class = RecNSO
    repr_contains = ('k=2', 'alpha=None', "weighting='softmax'")

    def make(self, **kwargs):
        return RecNSO(k=2, weighting='softmax', **kwargs)

    def inputs(self, device='cpu'):
        gen = torch.Generator().manual_seed(0)
        return {
            'user_emb': torch.randn(5, 4, generator=gen).to(device),
            'pos_emb': torch.randn(5, 4, generator=gen).to(device),
            'cand_emb': torch.randn(5, 6, 4, generator=gen).to(device),
        }

    def call(self, selector, user_emb, pos_emb, cand_emb):
        return selector(user_emb, pos_emb, cand_emb)

    def expected_shapes(self, inputs):
        return [(5, 2), (5, 2)]

    def check_outputs(self, selector, inputs, outputs):
        index, log_prob = outputs
        assert bool(((index >= 0) & (index < 6)).all())
        assert bool((log_prob < 0).all())

    def bad_calls(self):
        return [
            Bad(
                'cand-width',
                lambda x: {**x, 'cand_emb': x['cand_emb'][..., :3]},
                ValueError,
                "'cand_emb' must have shape",
            )
        ]
