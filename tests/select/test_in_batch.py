import math

import pytest
import torch
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp import PositiveIndex
from torch_geometric_negsamp.losses import sampled_softmax_loss
from torch_geometric_negsamp.select import (
    InBatchNegatives,
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
    positives = set(map(tuple, train.t().tolist()))
    expected = [
        [w == v or (u, w) in positives for w in items.tolist()]
        for u, v in zip(users.tolist(), items.tolist())
    ]
    assert out.accidental_hits.tolist() == expected
    # Without an index only the row's own positive item is masked:
    plain = InBatchNegatives()(users, items, user_emb, item_emb)
    assert torch.equal(
        plain.accidental_hits, items.view(1, -1) == items.view(-1, 1)
    )


def test_in_batch_logq_and_mixed_items_by_hand():
    train = _train()
    log_q = item_log_frequency(train, 5)
    assert torch.allclose(
        log_q.exp()[[0, 1, 2, 4]],
        torch.tensor([0.2, 0.4, 0.2, 0.2], dtype=torch.double),
    )
    assert log_q[3] == float('-inf')
    users, items = torch.tensor([0, 1]), torch.tensor([0, 1])
    mixed = torch.tensor([3, 4, 1])
    ue, ie, me = torch.randn(2, 3), torch.randn(2, 3), torch.randn(3, 3)
    sel = InBatchNegatives(PositiveIndex(train, 3, 5), log_q, num_items=5)
    out = sel(users, items, ue, ie, mixed, me)
    assert out.neg.shape == (2, 5)
    assert out.neg_items.tolist() == [[0, 1, 3, 4, 1], [0, 1, 3, 4, 1]]
    # row 0 (user 0: items 0, 1): hits at 0, 1 and the mixed 1
    assert out.accidental_hits[0].tolist() == [True, True, False, False, True]
    assert out.accidental_hits[1].tolist() == [False, True, False, False, True]
    # log Q = log p(j) + log B for batch items, log(N / I) for mixed ones
    assert torch.allclose(
        out.log_q_neg[0, :2].double(),
        torch.tensor([math.log(0.2 * 2), math.log(0.4 * 2)]).double(),
    )
    assert torch.allclose(
        out.log_q_neg[0, 2:].double(),
        torch.full((3,), math.log(3 / 5), dtype=torch.double),
    )
    assert torch.allclose(out.log_q_pos, out.log_q_neg[:, :2].diagonal())
    loss = sampled_softmax_loss(
        out.pos,
        out.neg,
        log_q_pos=out.log_q_pos,
        log_q_neg=out.log_q_neg,
        accidental_hits=out.accidental_hits,
    )
    assert torch.isfinite(loss)
    # No mixed item at all is no mixed item:
    none = sel(users, items, ue, ie, mixed[:0], me[:0])
    assert none.neg.shape == none.log_q_neg.shape == (2, 2)


def test_empty_batch_is_refused():
    # It used to end in a 'math domain error' (log B with B = 0).
    sel = InBatchNegatives(item_log_q=item_log_frequency(_train(), 5))
    empty = torch.zeros(0, dtype=torch.long)
    with pytest.raises(ValueError, match="'users' must hold at least one"):
        sel(empty, empty, torch.zeros(0, 3), torch.zeros(0, 3))


def test_ids_out_of_range_are_refused():
    sel = InBatchNegatives(PositiveIndex(_train(), 3, 5))
    e = torch.randn(2, 3)
    with pytest.raises(ValueError, match="'items' holds item id -1"):
        sel(torch.tensor([0, 1]), torch.tensor([0, -1]), e, e)
    with pytest.raises(ValueError, match="'users' holds user id 3"):
        sel(torch.tensor([0, 3]), torch.tensor([0, 1]), e, e)
    with pytest.raises(ValueError, match="'mixed_items' holds item id 5"):
        sel(
            torch.tensor([0, 1]),
            torch.tensor([0, 1]),
            e,
            e,
            torch.tensor([5]),
            torch.randn(1, 3),
        )


def test_item_log_frequency_errors():
    with pytest.raises(ValueError, match="'train_index' holds item id 5"):
        item_log_frequency(torch.tensor([[0], [5]]), 5)
    with pytest.raises(ValueError, match="'train_index' must hold at least"):
        item_log_frequency(torch.zeros(2, 0, dtype=torch.long), 5)
    with pytest.raises(ValueError, match="'train_index' must have shape"):
        item_log_frequency(torch.zeros(3, 2, dtype=torch.long), 5)
    with pytest.raises(ValueError, match="'num_items' must be a positive"):
        item_log_frequency(_train(), 0)


class TestInBatchNegativesContract(SelectorContract):
    selector_class = InBatchNegatives
    id_bounds = {'users': 3, 'items': 5, 'mixed_items': 5}
    repr_contains = ('index=True', 'logq=True', 'num_items=5')

    def make(self, **kwargs):
        train = _train()
        return InBatchNegatives(
            PositiveIndex(train, 3, 5), item_log_frequency(train, 5), **kwargs
        )

    def inputs(self, device='cpu'):
        gen = torch.Generator().manual_seed(0)
        x = {
            'users': torch.tensor([0, 1, 2, 0]),
            'items': torch.tensor([0, 1, 2, 1]),
            'user_emb': torch.randn(4, 3, generator=gen),
            'item_emb': torch.randn(4, 3, generator=gen),
            'mixed_items': torch.tensor([3, 4, 0]),
            'mixed_emb': torch.randn(3, 3, generator=gen),
        }
        return {k: v.to(device) for k, v in x.items()}

    def call(self, selector, **inputs):
        return selector(**inputs)

    def expected_shapes(self, inputs):
        return [(4,), (4, 7), (4, 7), (4, 7), (4,), (4, 7)]

    def check_outputs(self, selector, inputs, outputs):
        x = inputs
        pos, neg, neg_items, hits = outputs[:4]
        emb = torch.cat([x['item_emb'], x['mixed_emb']])
        assert torch.allclose(neg, x['user_emb'] @ emb.t())
        assert neg_items[0].tolist() == [0, 1, 2, 1, 3, 4, 0]
        positives = set(map(tuple, _train().t().tolist()))
        for u, v, row, mask in zip(
            x['users'].tolist(),
            x['items'].tolist(),
            neg_items.tolist(),
            hits.tolist(),
        ):
            assert mask == [w == v or (u, w) in positives for w in row]

    def bad_calls(self):
        def empty(x):
            return {
                **x,
                'users': x['users'][:0],
                'items': x['items'][:0],
                'user_emb': x['user_emb'][:0],
                'item_emb': x['item_emb'][:0],
            }

        return [
            Bad('empty-batch', empty, ValueError, "'users' must hold at"),
            Bad(
                'items-shape',
                lambda x: {**x, 'items': x['items'][:3]},
                ValueError,
                "'users' and 'items' must both",
            ),
            Bad(
                'emb-shape',
                lambda x: {**x, 'item_emb': x['item_emb'][:, :2]},
                ValueError,
                "'user_emb' and 'item_emb' must",
            ),
            Bad(
                'mixed-items-alone',
                lambda x: {**x, 'mixed_emb': None},
                ValueError,
                "both 'mixed_items' and 'mixed_emb'",
            ),
            Bad(
                'mixed-emb-shape',
                lambda x: {**x, 'mixed_emb': x['mixed_emb'][:2]},
                ValueError,
                "'mixed_emb' must have shape",
            ),
        ]

    def bad_constructions(self):
        train = _train()
        index = PositiveIndex(train, 3, 5)
        return [
            Bad(
                'index-int',
                lambda: InBatchNegatives(index=3),
                TypeError,
                "'index' must be a PositiveIndex",
            ),
            Bad(
                'log-q-2d',
                lambda: InBatchNegatives(item_log_q=torch.zeros(2, 2)),
                ValueError,
                "'item_log_q' must have 1 dim",
            ),
            Bad(
                'log-q-nan',
                lambda: InBatchNegatives(
                    item_log_q=torch.tensor([0.0, float('nan')])
                ),
                ValueError,
                "'item_log_q' must hold log-probabilities",
            ),
            Bad(
                'log-q-size',
                lambda: InBatchNegatives(index, torch.zeros(4)),
                ValueError,
                "'num_items' must match the 4 items of 'item_log_q'",
            ),
            Bad(
                'num-items-mismatch',
                lambda: InBatchNegatives(index, num_items=6),
                ValueError,
                "'num_items' must match the 5 items of the index",
            ),
            Bad(
                'num-items-zero',
                lambda: InBatchNegatives(num_items=0),
                ValueError,
                "'num_items'",
            ),
        ]


def test_the_log_frequencies_are_data_not_saved_state():
    # -inf for an item without interactions is legitimate, and a function
    # of the data the selector is built from: it moves, but is not saved.
    log_q = item_log_frequency(_train(), 6)
    sel = InBatchNegatives(item_log_q=log_q)
    assert bool(torch.isinf(sel.item_log_q[5]))
    assert 'item_log_q' not in sel.state_dict()
    assert sel.to('cpu').device == torch.device('cpu')
