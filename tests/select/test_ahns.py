import pytest
import torch
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.select import AHNS

SCORES = torch.tensor([[0.1, 0.5, 0.9, 2.0]])


def test_target_by_hand():
    ahns = AHNS()  # beta (s + 1) ** -1 = 0.1 / (s + 1)
    pos = torch.tensor([0.0, 1.0, -0.9, -2.0, -1.0])
    # s + 1 = 1, 2, 0.1, then -1 and 0 guarded to eps = 1e-3:
    expected = torch.tensor([0.1, 0.05, 1.0, 100.0, 100.0])
    assert torch.allclose(ahns.target(pos), expected)
    assert torch.allclose(
        AHNS(alpha=2.0, beta=3.0, p=0.0).target(pos),
        3.0 * torch.tensor([2.0, 3.0, 1.1, 1e-3, 1.0]),
    )
    # p = -1: the target no longer depends on the positive.
    assert torch.allclose(AHNS(p=-1.0).target(pos), torch.full((5,), 0.1))


def test_picks_the_candidate_closest_to_the_target_by_hand():
    rows = SCORES.expand(4, 4)
    # targets 0.1, 1.0 (s = -0.9), 100 (guarded), 0.05 (s = 1)
    pos = torch.tensor([0.0, -0.9, -2.0, 1.0])
    assert AHNS()(rows, pos).tolist() == [[0], [2], [3], [0]]
    # Target 0.5 (p = 0: beta (s + alpha) with s = 4): the second.
    assert AHNS(p=0.0)(SCORES, torch.tensor([4.0])).tolist() == [[1]]
    # k = 2, closest first: target 0.6 -> 0.5 (0.1 away), then 0.9 (0.3).
    ahns = AHNS(k=2, p=0.0, beta=0.6)
    assert ahns(SCORES, torch.tensor([0.0])).tolist() == [[1, 2]]
    cand = torch.tensor([[10, 11, 12, 13]])
    assert ahns.select(cand, SCORES, torch.tensor([0.0])).tolist() == [
        [11, 12]
    ]


def test_a_lower_positive_score_gets_a_harder_negative():
    # The default rule is monotone: the target falls as s(u, p) rises.
    scores = torch.linspace(-1.0, 3.0, 41).view(1, -1)
    ahns = AHNS()
    picked = [
        float(scores[0, ahns(scores, torch.tensor([s]))[0, 0]])
        for s in (-0.95, -0.5, 0.0, 1.0, 5.0)
    ]
    assert picked == sorted(picked, reverse=True)


def test_ahns_errors():
    with pytest.raises(ValueError, match="'eps' must be positive"):
        AHNS(eps=0.0)
    with pytest.raises(ValueError, match="'alpha' must be finite"):
        AHNS(alpha=float('inf'))
    with pytest.raises(TypeError, match="'beta' must be a float"):
        AHNS(beta='0.1')
    with pytest.raises(TypeError, match="'p' must be a float"):
        AHNS(p=None)
    with pytest.raises(ValueError, match="'k' must be a positive"):
        AHNS(k=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'seed'"):
        AHNS(seed=0)
    with pytest.raises(ValueError, match="'pos_scores' must hold one score"):
        AHNS()(SCORES, torch.zeros(2))
    with pytest.raises(ValueError, match="'pos_scores' must have 1 dim"):
        AHNS()(SCORES, torch.zeros(1, 1))
    with pytest.raises(ValueError, match="'pos_scores' must be finite"):
        AHNS().target(torch.tensor([float('nan')]))
    with pytest.raises(ValueError, match=r"'k' \(5\) cannot exceed"):
        AHNS(k=5)(SCORES, torch.zeros(1))


class TestAHNSContract(SelectorContract):
    selector_class = AHNS
    id_bounds = {'candidates': None}
    repr_contains = ('k=2', 'alpha=1.0', 'beta=0.1', 'p=-2.0', 'eps=0.001')

    def make(self, **kwargs):
        return AHNS(k=2, **kwargs)

    def inputs(self, device='cpu'):
        gen = torch.Generator().manual_seed(0)
        scores = torch.randperm(24, generator=gen).view(4, 6).float() / 10
        return {
            'candidates': torch.randint(100, (4, 6), generator=gen).to(device),
            'scores': scores.to(device),
            'pos_scores': torch.tensor([0.0, 1.0, -0.5, 3.0]).to(device),
        }

    def call(self, selector, candidates, scores, pos_scores):
        return selector.select(candidates, scores, pos_scores)

    def expected_shapes(self, inputs):
        return [(4, 2)]

    def check_outputs(self, selector, inputs, outputs):
        (ids,) = outputs
        for row, cand, scores, pos in zip(
            ids.tolist(),
            inputs['candidates'].tolist(),
            inputs['scores'].tolist(),
            inputs['pos_scores'].tolist(),
        ):
            target = 0.1 / max(pos + 1.0, 1e-3)
            order = sorted(range(6), key=lambda m: abs(scores[m] - target))
            assert row == [cand[order[0]], cand[order[1]]]

    def bad_calls(self):
        return [
            Bad(
                'k-above-M',
                lambda x: {
                    **x,
                    'candidates': x['candidates'][:, :1],
                    'scores': x['scores'][:, :1],
                },
                ValueError,
                r"'k' \(2\) cannot exceed",
            ),
            Bad(
                'shape-mismatch',
                lambda x: {**x, 'candidates': x['candidates'][:, :5]},
                ValueError,
                "'candidates' must have the shape of 'scores'",
            ),
            Bad(
                'pos-scores-short',
                lambda x: {**x, 'pos_scores': x['pos_scores'][:3]},
                ValueError,
                "'pos_scores' must hold one score per row",
            ),
        ]

    def bad_constructions(self):
        return [
            Bad('k-zero', lambda: AHNS(0), ValueError, "'k'"),
            Bad('eps-negative', lambda: AHNS(eps=-1.0), ValueError, "'eps'"),
            Bad(
                'beta-nan',
                lambda: AHNS(beta=float('nan')),
                ValueError,
                "'beta'",
            ),
            Bad('alpha-bool', lambda: AHNS(alpha=True), TypeError, "'alpha'"),
        ]
