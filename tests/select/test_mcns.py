import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mcns_graphs import ITEM, TRAIN
from mcns_graphs import make_mcns as _make
from mcns_graphs import one as _one
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.select import MCNS


@settings(max_examples=30, deadline=None)
@given(
    num_users=st.integers(1, 4),
    num_items=st.integers(2, 6),
    data=st.data(),
)
def test_never_a_positive_nor_an_extra_positive(num_users, num_items, data):
    pair = st.tuples(
        st.integers(0, num_users - 1), st.integers(0, num_items - 1)
    )
    train = data.draw(st.lists(pair, min_size=1, max_size=10))
    extra = data.draw(st.lists(pair, max_size=6))
    train = torch.tensor(train).t()
    extra = torch.tensor(extra, dtype=torch.long).view(-1, 2).t()
    positives = set(map(tuple, torch.cat([train, extra], 1).t().tolist()))
    # The region knows the training edges only: its proposals may hit the
    # extra positives, which the chain must refuse.
    mcns = _make(
        data.draw(st.sampled_from(['region', 'state'])),
        train,
        (num_users, num_items),
        extra=extra,
        f=data.draw(st.sampled_from(['power', 'code'])),
        global_share=data.draw(st.sampled_from([0.1, 0.5, 1.0])),
        burn_in=data.draw(st.integers(0, 4)),
        steps_per_draw=data.draw(st.integers(1, 3)),
        seed=data.draw(st.integers(0, 100)),
    )
    free = [
        u
        for u in range(num_users)
        if any((u, v) not in positives for v in range(num_items))
    ]
    if not free:
        return
    users = torch.tensor(
        data.draw(st.lists(st.sampled_from(free), min_size=1))
    )
    scale = data.draw(st.sampled_from([1e-3, 1.0, 50.0]))
    item_emb = torch.randn(num_items, 2) * scale
    for _ in range(2):
        user_emb = torch.randn(users.numel(), 2) * scale
        out = mcns(users, user_emb, item_emb, k=data.draw(st.integers(1, 4)))
        for u, row in zip(users.tolist(), out.tolist()):
            assert all((u, v) not in positives for v in row)
            assert all(0 <= v < num_items for v in row)
    for u in set(users.tolist()):
        assert (u, int(mcns.state[u])) not in positives


# ------------------------------------------------- burn-in and state
def test_burn_in_on_first_use_only_and_state_persists():
    mcns = _make(seed=0, burn_in=7, steps_per_draw=2)
    user_emb, users = torch.ones(2, 1), torch.tensor([0, 1])
    assert not mcns.started().any()
    out = mcns(users, user_emb, ITEM, k=3)
    assert mcns.statistics()['proposed'] == 2 * (7 + 3 * 2)
    assert mcns.started().tolist() == [True, True, False]
    assert torch.equal(mcns.state[users], out[:, -1])  # the last state kept
    mcns.reset_statistics()
    assert math.isnan(mcns.acceptance_rate)
    mcns(users, user_emb, ITEM, k=3)
    assert mcns.statistics()['proposed'] == 2 * 3 * 2  # no burn-in again
    # A batch with a new chain: only that row burns in.
    mcns.reset_statistics()
    mcns(torch.tensor([0, 2]), user_emb, ITEM, k=1)
    assert mcns.statistics()['proposed'] == 2 + (7 + 2)
    assert mcns.started().all()
    stats = mcns.statistics()
    assert mcns.acceptance_rate == stats['accepted'] / stats['proposed']


def test_a_repeated_user_keeps_its_last_rows_chain():
    mcns = _make(seed=3, burn_in=2)
    users = torch.tensor([0, 1, 0, 0])
    for _ in range(3):
        out = mcns(users, torch.randn(4, 1), ITEM, k=2)
        assert mcns.state[0] == out[3, -1] and mcns.state[1] == out[1, -1]


def test_flat_target_and_global_proposal_accept_every_step():
    # q = pi (uniform over the non-positives): every proposal is accepted.
    mcns = _make(seed=0, global_share=1.0)
    mcns(torch.tensor([0, 1, 2]), torch.zeros(3, 1), ITEM, k=4)
    assert mcns.acceptance_rate == 1.0
    # With the region, A(x, y) = min(1, q(x) / q(y)) < 1 into the region.
    mcns = _make(seed=0)
    mcns(torch.tensor([0, 1] * 50), torch.zeros(100, 1), ITEM, k=4)
    assert 0.0 < mcns.acceptance_rate < 1.0


def test_to_moves_index_and_region():
    mcns = _make(seed=0)
    mcns.to('meta')
    assert mcns.device == torch.device('meta')
    assert mcns.index.device == torch.device('meta')
    assert mcns.region.device == torch.device('meta')


# ------------------------------------------------------------ errors
def test_a_user_positive_of_every_item_raises():
    full = torch.tensor([[0, 0, 1], [0, 1, 0]])  # user 0 holds both items
    mcns = _make(train=full, num=(2, 2), seed=0)
    with pytest.raises(ValueError, match='user 0 in .users. is a known pos'):
        mcns(torch.tensor([1, 0]), torch.ones(2, 1), torch.ones(2, 1))
    with pytest.raises(ValueError, match='user 0 in .users. is a known pos'):
        mcns.proposal_log_prob(torch.tensor([0]), torch.tensor([1]))
    assert not mcns.started().any()


def test_diagnostics_check_their_arguments():
    mcns, state = _make(seed=0), _make('state', seed=0)
    one = torch.ones(1, 1)
    with pytest.raises(ValueError, match="'current' holds item 0, a known"):
        mcns.acceptance_probability(_one(0), _one(0), _one(2), one, ITEM)
    with pytest.raises(ValueError, match="'proposed' holds item id 6"):
        mcns.acceptance_probability(_one(0), _one(2), _one(6), one, ITEM)
    with pytest.raises(ValueError, match="'current' must have the shape"):
        mcns.acceptance_probability(
            _one(0), torch.tensor([2, 3]), _one(2), one, ITEM
        )
    with pytest.raises(ValueError, match="'current' must be given"):
        state.proposal_log_prob(_one(0), _one(2))
    with pytest.raises(ValueError, match="'proposed' holds item id -1"):
        mcns.proposal_log_prob(_one(0), _one(-1))


def test_oversized_requests_are_refused(monkeypatch):
    from torch_geometric_negsamp._validate import sizes

    mcns, one = _make(seed=0), torch.ones(1, 1)
    monkeypatch.setattr(sizes, '_memory_of', lambda device: 40)
    with pytest.raises(ValueError, match="'users' asks for the result"):
        mcns.target_log_prob(_one(0), one, ITEM)  # 6 entries of 8 bytes
    with pytest.raises(ValueError, match="'k' asks for the chain steps"):
        mcns(_one(0), one, ITEM, k=2)  # (10 + 2 + 1) steps of 8 bytes
    assert not mcns.started().any()


class TestMCNSContract(SelectorContract):
    selector_class = MCNS
    id_bounds = {'users': 3}
    repr_contains = ("proposal='region'", 'alpha=0.25', 'burn_in=3')
    proposal = 'region'

    def make(self, **kwargs):
        return _make(self.proposal, burn_in=3, **kwargs)

    def inputs(self, device='cpu'):
        return {
            'users': torch.tensor([0, 1, 2, 0], device=device),
            'user_emb': torch.tensor(
                [[1.0, 0.5], [0.2, -1.0], [0.7, 0.7], [1.0, 0.5]],
                device=device,
            ),
            'item_emb': torch.tensor(
                [[0.3, 1.0], [1.0, 0.1], [2.0, 0.5], [-0.5, 0.4]]
                + [[0.9, 0.9], [0.1, 1.5]],
                device=device,
            ),
        }

    def call(self, selector, users, user_emb, item_emb):
        out = selector(users, user_emb, item_emb, k=3)
        return out, selector.state.clone()

    def expected_shapes(self, inputs):
        return [(4, 3), (3,)]

    def check_outputs(self, selector, inputs, outputs):
        out, state = outputs
        positives = set(map(tuple, TRAIN.t().tolist()))
        for u, row in zip(inputs['users'].tolist(), out.tolist()):
            assert all((u, v) not in positives for v in row)
        assert state.tolist() == [out[3, -1], out[1, -1], out[2, -1]]

    def bad_calls(self):
        def change(name, fn):
            return lambda x: {**x, name: fn(x[name])}

        return [
            Bad(
                'users-2d',
                change('users', lambda t: t.view(2, 2)),
                ValueError,
                "'users' must have 1 dim",
            ),
            Bad(
                'user-emb-rows',
                change('user_emb', lambda t: t[:3]),
                ValueError,
                "'user_emb' must have one row per entry of 'users'",
            ),
            Bad(
                'item-emb-rows',
                change('item_emb', lambda t: t[:5]),
                ValueError,
                "'item_emb' must have one row per item",
            ),
            Bad(
                'embedding-sizes',
                change('user_emb', lambda t: t[:, :1]),
                ValueError,
                "'user_emb' must have the embedding size",
            ),
            Bad(
                'user-emb-1d',
                change('user_emb', lambda t: t[:, 0]),
                ValueError,
                "'user_emb' must have 2 dim",
            ),
        ]

    def bad_constructions(self):
        index = PositiveIndex(TRAIN, 3, 6)
        region = KHopRegion(TRAIN, (3, 6), k=3)
        other = KHopRegion(TRAIN, (3, 7), k=3)
        far = torch.tensor([[0], [6]])

        def make(*args, **kwargs):
            return lambda: MCNS(*args, **kwargs)

        cases = [
            ('index', TypeError, make(TRAIN, region)),
            ('region', TypeError, make(index, None)),
            ('region', TypeError, make(index, TRAIN)),
            (
                "'region' must have the 3 users and 6",
                ValueError,
                make(index, other),
            ),
            (
                "'region' is used by proposal='region'",
                ValueError,
                make(index, region, proposal='state', edge_index=TRAIN),
            ),
            (
                "'edge_index' is used by proposal='state'",
                ValueError,
                make(index, region, edge_index=TRAIN),
            ),
            (
                "'memory_budget' is used by",
                ValueError,
                make(index, region, memory_budget=2**20),
            ),
            (
                "'edge_index' .* must be given",
                ValueError,
                make(index, proposal='state'),
            ),
            (
                "'edge_index' must have shape",
                ValueError,
                make(index, proposal='state', edge_index=TRAIN[:1]),
            ),
            (
                r"'edge_index\[1\]' holds item id 6",
                ValueError,
                make(index, proposal='state', edge_index=far),
            ),
            (
                "'proposal' must be one of",
                ValueError,
                make(index, region, proposal='dfs'),
            ),
            ("'f' must be one of", ValueError, make(index, region, f='sig')),
            (
                "'alpha' must be positive",
                ValueError,
                make(index, region, alpha=0.0),
            ),
            ("'alpha'", TypeError, make(index, region, alpha='1')),
            (
                "'eps' must be positive",
                ValueError,
                make(index, region, eps=-1.0),
            ),
            (
                "'global_share' must be positive",
                ValueError,
                make(index, region, global_share=0.0),
            ),
            (
                "'global_share' must be in",
                ValueError,
                make(index, region, global_share=1.5),
            ),
            ("'burn_in'", ValueError, make(index, region, burn_in=-1)),
            (
                "'steps_per_draw'",
                ValueError,
                make(index, region, steps_per_draw=0),
            ),
            (
                "'region' is on meta but 'index' is on cpu",
                ValueError,
                make(index, KHopRegion(TRAIN, (3, 6), k=3).to('meta')),
            ),
        ]
        return [
            Bad(f'construction-{i}', apply, error, match)
            for i, (match, error, apply) in enumerate(cases)
        ]

    def bad_states(self):
        def with_state(values):
            return lambda s: {**s, 'state': torch.tensor(values)}

        return [
            Bad(
                'positive',
                with_state([0, -1, -1]),
                ValueError,
                'holds item 0, a known positive of user 0',
            ),
            Bad(
                'out-of-range',
                with_state([2, 6, -1]),
                ValueError,
                'holds item id 6',
            ),
            Bad(
                'below-minus-one',
                with_state([2, -2, -1]),
                ValueError,
                'holds -2; an entry is an item id or -1',
            ),
            Bad(
                'floats',
                with_state([2.0, 0.0, 0.0]),
                ValueError,
                "'state_dict' entry 'state' must have a dtype like",
            ),
        ]

    def test_k_must_be_positive(self):
        with pytest.raises(ValueError, match="'k' must be"):
            self.make(seed=0)(**self.inputs(), k=0)


class TestMCNSStateContract(TestMCNSContract):
    repr_contains = ("proposal='state'",)
    proposal = 'state'
