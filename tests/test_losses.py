import math

import pytest
import torch
import torch.nn.functional as F

from torch_geometric_negsamp.losses import (
    accidental_hit_mask,
    bce_loss,
    bpr_loss,
    hinge_loss,
    l2_regularization,
    sampled_softmax_loss,
)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


POS = torch.tensor([2.0, -1.0])
NEG = torch.tensor([[1.0, 3.0], [0.0, -2.0]])


def test_bpr_hand_computed():
    out = bpr_loss(POS, NEG, reduction='none')
    want = [
        -(math.log(sigmoid(1.0)) + math.log(sigmoid(-1.0))) / 2,
        -(math.log(sigmoid(-1.0)) + math.log(sigmoid(1.0))) / 2,
    ]
    assert out.tolist() == pytest.approx(want)
    assert bpr_loss(POS, NEG).item() == pytest.approx(sum(want) / 2)
    assert bpr_loss(POS, NEG, reduction='sum').item() == pytest.approx(
        sum(want)
    )


def test_bpr_is_stable_for_large_margins():
    out = bpr_loss(torch.tensor([0.0]), torch.tensor([1000.0]))
    assert out.item() == pytest.approx(1000.0)
    assert bpr_loss(torch.tensor([1000.0]), torch.tensor([0.0])).item() >= 0


def test_one_dimensional_negatives_mean_k_equals_one():
    neg = torch.tensor([1.0, 0.0])
    for loss in (bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss):
        assert torch.allclose(
            loss(POS, neg, reduction='none'),
            loss(POS, neg.view(-1, 1), reduction='none'),
        )


def test_bce_hand_computed_and_matches_torch():
    out = bce_loss(POS, NEG, reduction='none')
    want0 = (
        -math.log(sigmoid(2.0))
        - math.log(1 - sigmoid(1.0))
        - math.log(1 - sigmoid(3.0))
    )
    assert out[0].item() == pytest.approx(want0)
    logits = torch.cat([POS, NEG.flatten()])
    labels = torch.cat([torch.ones(2), torch.zeros(4)])
    torch_sum = F.binary_cross_entropy_with_logits(
        logits, labels, reduction='sum'
    )
    assert bce_loss(POS, NEG, reduction='sum').item() == pytest.approx(
        torch_sum.item()
    )
    torch_mean = F.binary_cross_entropy_with_logits(logits, labels)
    assert bce_loss(POS, NEG).item() == pytest.approx(3 * torch_mean.item())


def test_hinge_hand_computed():
    out = hinge_loss(POS, NEG, margin=1.5, reduction='none')
    # Row 0: relu(1.5 - 2 + 1) = 0.5, relu(1.5 - 2 + 3) = 2.5 -> 1.5.
    # Row 1: relu(1.5 + 1 + 0) = 2.5, relu(1.5 + 1 - 2) = 0.5 -> 1.5.
    assert out.tolist() == pytest.approx([1.5, 1.5])
    assert hinge_loss(torch.tensor([5.0]), torch.tensor([0.0])).item() == 0.0
    torch_loss = torch.nn.MarginRankingLoss(margin=1.5)
    assert hinge_loss(POS, NEG[:, 0], margin=1.5).item() == pytest.approx(
        torch_loss(POS, NEG[:, 0], torch.ones(2)).item()
    )


def test_sampled_softmax_hand_computed():
    out = sampled_softmax_loss(POS, NEG, temperature=0.5, reduction='none')
    z = [4.0, 2.0, 6.0]
    want0 = -z[0] + math.log(sum(math.exp(v) for v in z))
    assert out[0].item() == pytest.approx(want0)
    assert out.mean().item() == pytest.approx(
        sampled_softmax_loss(POS, NEG, temperature=0.5).item()
    )
    full = F.cross_entropy(
        torch.cat([POS.view(-1, 1), NEG], 1) / 0.5,
        torch.zeros(2, dtype=torch.long),
        reduction='sum',
    )
    assert sampled_softmax_loss(
        POS, NEG, 0.5, reduction='sum'
    ).item() == pytest.approx(full.item())


def test_log_q_correction_equals_shifting_logits():
    gen = torch.Generator().manual_seed(0)
    pos, neg = torch.randn(4, generator=gen), torch.randn(4, 3, generator=gen)
    log_q_pos = torch.rand(4, generator=gen).log()
    log_q_neg = torch.rand(4, 3, generator=gen).log()
    t = 0.2
    got = sampled_softmax_loss(
        pos, neg, t, log_q_pos, log_q_neg, reduction='none'
    )
    want = sampled_softmax_loss(
        pos - t * log_q_pos, neg - t * log_q_neg, t, reduction='none'
    )
    assert torch.allclose(got, want, atol=1e-6)
    assert not torch.allclose(
        got, sampled_softmax_loss(pos, neg, t, reduction='none')
    )


def test_accidental_hits_remove_exactly_the_masked_columns():
    gen = torch.Generator().manual_seed(1)
    pos, neg = torch.randn(3, generator=gen), torch.randn(3, 4, generator=gen)
    mask = torch.tensor(
        [
            [False, True, False, False],
            [False, False, False, False],
            [True, True, True, True],
        ]
    )
    out = sampled_softmax_loss(
        pos, neg, accidental_hits=mask, reduction='none'
    )
    keep = [[0, 2, 3], [0, 1, 2, 3], []]
    for row, cols in enumerate(keep):
        want = sampled_softmax_loss(
            pos[row : row + 1],
            neg[row : row + 1, cols]
            if cols
            else torch.full((1, 1), float('-inf')),
            reduction='none',
        )
        assert out[row].item() == pytest.approx(want.item(), abs=1e-6)
    assert out[2].item() == 0.0  # Only the positive is left.
    # Gradients flow only into kept negatives.
    neg = neg.clone().requires_grad_()
    sampled_softmax_loss(pos, neg, accidental_hits=mask).backward()
    assert (neg.grad[mask] == 0).all() and (neg.grad[~mask] > 0).all()


def test_accidental_hit_mask():
    pos_ids = torch.tensor([3, 5])
    neg_ids = torch.tensor([[3, 1, 3], [0, 5, 2]])
    assert accidental_hit_mask(pos_ids, neg_ids).tolist() == [
        [True, False, True],
        [False, True, False],
    ]
    assert accidental_hit_mask(pos_ids, torch.tensor([3, 1])).tolist() == [
        True,
        False,
    ]
    # In-batch negatives: the diagonal is the positive itself.
    in_batch = accidental_hit_mask(pos_ids, pos_ids.expand(2, 2))
    assert in_batch.tolist() == [[True, False], [False, True]]


@pytest.mark.parametrize(
    'loss', [bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss]
)
def test_gradient_signs(loss):
    pos = torch.tensor([0.3, -0.2], requires_grad=True)
    neg = torch.tensor([[0.1, 0.5], [0.0, 0.4]], requires_grad=True)
    loss(pos, neg).backward()
    # Raising a positive score lowers the loss, raising a negative one
    # raises it (hinge: all pairs are inside the margin here).
    assert (pos.grad < 0).all()
    assert (neg.grad > 0).all()


def test_l2_regularization():
    a = torch.tensor([[1.0, 2.0]], requires_grad=True)
    b = torch.tensor([3.0])
    out = l2_regularization(a, b, batch_size=2)
    assert out.item() == pytest.approx(0.5 * (1 + 4 + 9) / 2)
    out.backward()
    assert a.grad.tolist() == [[0.5, 1.0]]  # d/da = a / batch_size.


@pytest.mark.parametrize(
    'loss', [bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss]
)
@pytest.mark.parametrize(
    'pos,neg,error,match',
    [
        (
            torch.zeros(2, 1),
            torch.zeros(2),
            ValueError,
            r"'pos' must have shape \[B\] \(got \[2, 1\]\)",
        ),
        (
            torch.zeros(2),
            torch.zeros(3, 2),
            ValueError,
            r"'neg' must have shape \[B\] or \[B, k\] with B = 2 and k >= 1 "
            r'\(got \[3, 2\]\)',
        ),
        (torch.zeros(2), torch.zeros(2, 0), ValueError, 'k >= 1'),
        (torch.zeros(2), torch.zeros(2, 1, 1), ValueError, "'neg' must have"),
        ([0.0], torch.zeros(1), TypeError, "'pos' must be a torch.Tensor"),
        (
            torch.zeros(2),
            torch.zeros(2, dtype=torch.long),
            TypeError,
            "'neg' must be floating point",
        ),
    ],
)
def test_shape_and_type_errors(loss, pos, neg, error, match):
    with pytest.raises(error, match=match):
        loss(pos, neg)


@pytest.mark.parametrize(
    'loss', [bpr_loss, bce_loss, hinge_loss, sampled_softmax_loss]
)
def test_bad_reduction(loss):
    with pytest.raises(
        ValueError, match="'reduction' must be one of .* \\(got 'avg'\\)"
    ):
        loss(POS, NEG, reduction='avg')


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(temperature=0.0), ValueError, "'temperature' must be positive"),
        (
            dict(temperature=-1),
            ValueError,
            r"'temperature' must be positive \(got",
        ),
        (dict(temperature='1'), TypeError, "'temperature' must be a float"),
        (
            dict(log_q_pos=torch.zeros(3)),
            ValueError,
            r"'log_q_pos' must have the shape of 'pos', \[2\] \(got \[3\]\)",
        ),
        (
            dict(log_q_neg=torch.zeros(2)),
            ValueError,
            r"'log_q_neg' must have the shape of 'neg', \[2, 2\]",
        ),
        (
            dict(log_q_neg=[0.0]),
            TypeError,
            "'log_q_neg' must be a torch.Tensor",
        ),
        (
            dict(accidental_hits=torch.zeros(2, 2)),
            TypeError,
            "'accidental_hits' must be a bool tensor",
        ),
        (
            dict(accidental_hits=torch.zeros(2, 3, dtype=torch.bool)),
            ValueError,
            "'accidental_hits' must have the shape of 'neg'",
        ),
    ],
)
def test_sampled_softmax_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        sampled_softmax_loss(POS, NEG, **kwargs)


def test_hinge_margin_errors():
    with pytest.raises(
        ValueError,
        match=r"'margin' must be non-negative "
        r'\(got -0.5\)',
    ):
        hinge_loss(POS, NEG, margin=-0.5)
    with pytest.raises(TypeError, match="'margin' must be a float"):
        hinge_loss(POS, NEG, margin=None)
    assert hinge_loss(POS, NEG, margin=0).item() >= 0  # Zero is allowed.


@pytest.mark.parametrize(
    'args,kwargs,error,match',
    [
        (
            (torch.zeros(1),),
            dict(batch_size=0),
            ValueError,
            "'batch_size' must be a positive integer",
        ),
        (
            (torch.zeros(1),),
            dict(batch_size=2.0),
            TypeError,
            "'batch_size' must be an int",
        ),
        ((), dict(batch_size=1), ValueError, 'at least one tensor'),
        (
            (torch.zeros(1), [1.0]),
            dict(batch_size=1),
            TypeError,
            r"'tensors\[1\]' must be a floating-point torch.Tensor "
            r'\(got list\)',
        ),
    ],
)
def test_l2_regularization_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        l2_regularization(*args, **kwargs)


@pytest.mark.parametrize(
    'pos_ids,neg_ids,error,match',
    [
        (
            torch.zeros(2, 1),
            torch.zeros(2),
            ValueError,
            r"'pos_ids' must have shape \[B\]",
        ),
        (
            torch.zeros(2),
            torch.zeros(3),
            ValueError,
            r"'neg_ids' must have shape \[B\] or \[B, k\] with B = 2",
        ),
        (torch.zeros(2), None, TypeError, "'neg_ids' must be a torch.Tensor"),
    ],
)
def test_accidental_hit_mask_errors(pos_ids, neg_ids, error, match):
    with pytest.raises(error, match=match):
        accidental_hit_mask(pos_ids, neg_ids)
