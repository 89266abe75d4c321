import itertools

import pytest
import torch
from scipy.stats import binomtest, chisquare
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.datasets import Exposure
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.select import RecNS, overlap_beta, recns_merge

# Users 0..4, items 0..7. Intermediate regions (k = 3): u0 {1, 2, 3, 4},
# u1 and u3 and u4 none, u2 {6}; distant: u1 {5, 6, 7}, u3 {0..4, 7},
# u4 {0..6}.
EDGES = torch.tensor(
    [[0, 1, 1, 1, 1, 1, 2, 3, 3, 4], [0, 0, 1, 2, 3, 4, 5, 5, 6, 7]]
)
INTERMEDIATE = [{1, 2, 3, 4}, set(), {6}, set(), set()]
DISTANT = [{5, 6, 7}, {5, 6, 7}, {0, 1, 2, 3, 4, 7}, {0, 1, 2, 3, 4, 7}]
DISTANT.append(set(range(7)))


def region():
    return KHopRegion(EDGES, (5, 8), k=3)


def exposure():
    # u0 is exposed to 2, 3, 6 (and to its own item 0: removed); u2 to 0.
    pairs = torch.tensor([[0, 0, 0, 0, 2], [2, 3, 6, 0, 0]])
    return Exposure(pairs, 5, 8, train_index=EDGES)


def embeddings(B=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (
        torch.randn(B, 3, generator=gen),
        torch.randn(B, 3, generator=gen),
        torch.randn(8, 3, generator=gen),
    )


# ------------------------------------------------------------------ merge
N1, N2, W = [1.0, 0.0], [0.0, 1.0], [2.0, 2.0]


def test_merge_by_hand():
    neg = torch.tensor([[N1, N2]])
    exp = torch.tensor([W])
    # lam = 0.25: m = 0.75 n1 + 0.25 w = (1.25, 0.5);
    # e_1 = 0.75 n1 + 0.25 m = (1.0625, 0.125), e_2 = (0.3125, 0.875).
    out = recns_merge(neg, exp, lam=0.25)
    assert out.tolist() == [[[1.0625, 0.125], [0.3125, 0.875]]]
    # The default lam = 1 / K = 0.5: m = (1.5, 1), e_1 = (1.25, 0.5),
    # e_2 = (0.75, 1.0).
    assert recns_merge(neg, exp).tolist() == [[[1.25, 0.5], [0.75, 1.0]]]
    # Renormalised (PinSage): unit rows in the same directions.
    norm = recns_merge(neg, exp, lam=0.25, renorm=True)[0]
    assert norm.norm(dim=1).tolist() == pytest.approx([1.0, 1.0])
    assert norm[1].tolist() == pytest.approx(
        [
            0.3125 / (0.3125**2 + 0.875**2) ** 0.5,
            0.875 / (0.3125**2 + 0.875**2) ** 0.5,
        ]
    )
    # A masked row is left as it was.
    two = recns_merge(
        neg.repeat(2, 1, 1),
        exp.repeat(2, 1),
        0.25,
        mask=torch.tensor([True, False]),
    )
    assert two[1].tolist() == [N1, N2] and two[0].tolist() == out[0].tolist()


def test_merge_gradients_by_hand():
    # d sum(e~) / d n1 = (1 - lam) + K lam (1 - lam); d / d n2 = 1 - lam;
    # d / d w = K lam^2 (K = 2, lam = 0.25: 1.125, 0.75, 0.125).
    neg = torch.tensor([[N1, N2]], requires_grad=True)
    exp = torch.tensor([W], requires_grad=True)
    recns_merge(neg, exp, lam=0.25).sum().backward()
    assert neg.grad.tolist() == [[[1.125, 1.125], [0.75, 0.75]]]
    assert exp.grad.tolist() == [[0.125, 0.125]]


def test_merge_errors():
    neg, exp = torch.zeros(2, 3, 4), torch.zeros(2, 4)
    with pytest.raises(
        ValueError, match=r"'exp_emb' must have shape \[2, 4\]"
    ):
        recns_merge(neg, exp[:1])
    with pytest.raises(ValueError, match="'neg_emb' holds no negative"):
        recns_merge(neg[:, :0], exp)
    with pytest.raises(ValueError, match="'lam' must be in"):
        recns_merge(neg, exp, lam=1.5)
    with pytest.raises(TypeError, match="'renorm' must be a bool"):
        recns_merge(neg, exp, renorm=1)
    with pytest.raises(ValueError, match="'mask' must be a bool tensor"):
        recns_merge(neg, exp, mask=torch.ones(2))
    with pytest.raises(TypeError, match="'mask' must be a Tensor"):
        recns_merge(neg, exp, mask=[True, True])
    with pytest.raises(TypeError, match="'neg_emb' must be a floating"):
        recns_merge(neg.long(), exp)


# ------------------------------------------------------------------- pools
def test_pools_and_their_fallbacks():
    selector = RecNS(region(), num_neg=2, num_candidates=3, seed=0)
    users = torch.arange(5).repeat(2000)
    pool = selector.sample_pool(users).view(2000, 5, 3)
    # u0: distinct members of its region, each 3-subset as likely.
    u0 = pool[:, 0]
    assert bool((u0.sort(1).values.diff(dim=1) > 0).all())
    assert set(u0.unique().tolist()) == INTERMEDIATE[0]
    subsets = list(itertools.combinations(sorted(INTERMEDIATE[0]), 3))
    code = {s: i for i, s in enumerate(subsets)}
    counts = torch.bincount(
        torch.tensor([code[tuple(r)] for r in u0.sort(1).values.tolist()]),
        minlength=4,
    )
    assert chisquare(counts.numpy()).pvalue > 1e-3
    # u2: one intermediate item, drawn with replacement.
    assert bool((pool[:, 2] == 6).all())
    # u1, u3, u4: empty regions, distinct draws from the distant region.
    for u in (1, 3, 4):
        rows = pool[:, u]
        assert set(rows.unique().tolist()) <= DISTANT[u]
        assert bool((rows.sort(1).values.diff(dim=1) > 0).all())
    assert set(pool[:, 4].unique().tolist()) == DISTANT[4]


def test_distant_share():
    selector = RecNS(region(), num_candidates=3, distant_share=0.25, seed=1)
    pool = selector.sample_pool(torch.zeros(4000, dtype=torch.long))
    far = torch.isin(pool, torch.tensor(sorted(DISTANT[0])))
    assert set(pool[~far].unique().tolist()) == INTERMEDIATE[0]
    assert binomtest(int(far.sum()), far.numel(), 0.25).pvalue > 1e-3
    # Regions are disjoint and each part distinct: no row repeats an item.
    assert bool((pool.sort(1).values.diff(dim=1) > 0).all())


def test_a_user_without_any_negative_raises():
    edges = torch.tensor([[0, 0, 1], [0, 1, 0]])  # user 0 has every item
    selector = RecNS(KHopRegion(edges, (2, 2)), num_candidates=2, seed=0)
    with pytest.raises(ValueError, match="user 0 in 'users' has neither"):
        selector.sample_pool(torch.tensor([1, 0]))
    assert selector.sample_pool(torch.tensor([1])).tolist() == [[1, 1]]


# ----------------------------------------------------------------- forward
@pytest.mark.parametrize('no_exposure', ['recns_o_only', 'dns_on_region'])
def test_forward_by_hand(no_exposure):
    selector = RecNS(
        region(),
        exposure(),
        num_neg=2,
        num_candidates=3,
        alpha=0.5,
        no_exposure=no_exposure,
        seed=2,
    )
    users = torch.arange(5).repeat(50)
    user_emb, pos_emb, item_emb = embeddings(5)
    user_emb, pos_emb = user_emb.repeat(50, 1), pos_emb.repeat(50, 1)
    out = selector(users, user_emb, pos_emb, item_emb)
    B = users.numel()
    assert out.emb.shape == (B, 2, 3) and out.neg_ids.shape == (B, 2)
    assert out.candidates.shape == (B, 3) and out.log_prob.shape == (B, 2)
    scores = lambda b, items: [  # noqa: E731
        float(user_emb[b] @ item_emb[i]) for i in items
    ]
    for b in range(B):
        u, pool = int(users[b]), out.candidates[b].tolist()
        assert set(out.neg_ids[b].tolist()) <= set(pool)
        if u == 0:  # exposed to 2, 3, 6: all three drawn (M = 3)
            exposed = [2, 3, 6]
            beta = overlap_beta(
                torch.tensor([exposed]), out.candidates[b : b + 1]
            )
            s = [x * y for x, y in zip(beta[0].tolist(), scores(b, exposed))]
            want = exposed[max(range(3), key=s.__getitem__)]
        elif u == 2:  # exposed to 0 only: drawn three times
            want = 0
        elif no_exposure == 'dns_on_region':  # DNS over its pool
            s = scores(b, pool)
            want = pool[max(range(3), key=s.__getitem__)]
        else:
            want = -1
        assert int(out.exposed_ids[b]) == want
        n = item_emb[out.neg_ids[b]]
        if want < 0:
            assert torch.equal(out.emb[b], n)
        else:  # lam = 1 / k = 0.5
            m = 0.5 * n[0] + 0.5 * item_emb[want]
            assert torch.allclose(out.emb[b], 0.5 * n + 0.5 * m)
    stats = selector.stats()
    assert stats == {
        'rows': B,
        'short_region': 50,  # u2
        'empty_region': 150,  # u1, u3, u4
        'short_exposure': 50,  # u2 (one exposed item)
        'no_exposure': 150,  # u1, u3, u4
    }


def test_without_exposure_it_is_recns_o_alone_and_gradients_flow():
    selector = RecNS(region(), num_neg=3, num_candidates=3, seed=3)
    user_emb, pos_emb, item_emb = embeddings(5)
    item_emb.requires_grad_()
    out = selector(torch.arange(5), user_emb, pos_emb, item_emb)
    assert out.exposed_ids.tolist() == [-1] * 5
    assert torch.equal(out.emb, item_emb[out.neg_ids])
    out.emb.sum().backward()
    used = torch.zeros(8, dtype=torch.bool)
    used[out.neg_ids.view(-1)] = True
    assert bool((item_emb.grad.abs().sum(1) > 0).eq(used).all())


def test_renorm_merges_unit_vectors():
    selector = RecNS(
        region(), num_neg=2, num_candidates=3, renorm=True,
        no_exposure='dns_on_region', seed=4,
    )  # fmt: skip
    out = selector(torch.arange(5), *embeddings(5))
    assert torch.allclose(out.emb.norm(dim=-1), torch.ones(5, 2))


def test_errors():
    r = region()
    with pytest.raises(TypeError, match="'region' must be a KHopRegion"):
        RecNS(EDGES)
    with pytest.raises(TypeError, match="'exposure' must be a Exposure"):
        RecNS(r, EDGES)
    wide = Exposure(torch.tensor([[0], [8]]), 5, 9)
    with pytest.raises(ValueError, match="'exposure' must cover"):
        RecNS(r, wide)
    for name, value, error in (
        ('no_exposure', 'dns', ValueError),
        ('distant_share', 1.5, ValueError),
        ('lam', -0.1, ValueError),
        ('renorm', 'yes', TypeError),
        ('num_candidates', 0, ValueError),
        ('beta', 'count', ValueError),
        ('alpha', 2.0, ValueError),
        ('weighting', 'linear', ValueError),
    ):
        with pytest.raises(error, match=f"'{name}'"):
            RecNS(r, **{name: value})
    selector = RecNS(r, num_candidates=3, seed=0)
    user_emb, pos_emb, item_emb = embeddings(5)
    users = torch.arange(5)
    with pytest.raises(ValueError, match="'users' must have 1 dim"):
        selector(users.view(5, 1), user_emb, pos_emb, item_emb)
    with pytest.raises(
        ValueError, match=r"'pos_emb' must have shape \[5, 3\]"
    ):
        selector(users, user_emb, pos_emb[:4], item_emb)
    with pytest.raises(ValueError, match="'item_emb' must have one row per"):
        selector(users, user_emb, pos_emb, item_emb[:7])
    callable_beta = RecNS(r, exposure(), beta=lambda e: 2.0, seed=0)
    with pytest.raises(ValueError, match="'epoch' must be given"):
        callable_beta(users, user_emb, pos_emb, item_emb)
    assert callable_beta(
        users, user_emb, pos_emb, item_emb, epoch=3
    ).emb.shape == (5, 15, 3)


class TestRecNSContract(SelectorContract):
    selector_class = RecNS
    id_bounds = {'users': 5}
    repr_contains = (
        'num_neg=2',
        'num_candidates=3',
        "no_exposure='recns_o_only'",
    )

    def make(self, **kwargs):
        # A fresh region each time: .to() moves it in place.
        return RecNS(
            region(), exposure(), num_neg=2, num_candidates=3, **kwargs
        )

    def inputs(self, device='cpu'):
        user_emb, pos_emb, item_emb = embeddings(6, seed=5)
        return {
            'users': torch.tensor([0, 1, 2, 3, 4, 0]).to(device),
            'user_emb': user_emb.to(device),
            'pos_emb': pos_emb.to(device),
            'item_emb': item_emb.to(device),
        }

    def call(self, selector, users, user_emb, pos_emb, item_emb):
        return tuple(selector(users, user_emb, pos_emb, item_emb))

    def expected_shapes(self, inputs):
        return [(6, 2, 3), (6, 2), (6,), (6, 2), (6, 3)]

    def check_outputs(self, selector, inputs, outputs):
        emb, neg_ids, exposed_ids, log_prob, pool = outputs
        assert bool((neg_ids >= 0).all() & (neg_ids < 8).all())
        # Only the users with exposure (0 and 2) are merged.
        assert ((exposed_ids >= 0).tolist()) == [1, 0, 1, 0, 0, 1]
        assert bool((log_prob < 0).all())

    def bad_calls(self):
        return [
            Bad(
                'user-emb-rows',
                lambda x: {**x, 'user_emb': x['user_emb'][:2]},
                ValueError,
                "'user_emb' must have shape",
            )
        ]

    def bad_states(self):
        return [
            Bad(
                'negative-counts',
                lambda s: {**s, 'counts': torch.full((5,), -1)},
                ValueError,
                "'counts' must hold non-negative",
            )
        ]
