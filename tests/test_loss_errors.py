r"""The bad-input errors of the losses: every raise path, named."""

import pytest
import torch
from tiny_tensors import NEG, POS

from torch_geometric_negsamp.losses import (
    accidental_hit_mask,
    bce_loss,
    bpr_loss,
    hinge_loss,
    l2_regularization,
    sampled_softmax_loss,
)


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
            r"'log_q_pos' must have the shape of 'pos' \[2\] \(got \[3\]\)",
        ),
        (
            dict(log_q_neg=torch.zeros(2)),
            ValueError,
            r"'log_q_neg' must have the shape of 'neg' \[2, 2\]",
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
        (
            dict(accidental_hits=[[True]]),
            TypeError,
            "'accidental_hits' must be a torch.Tensor",
        ),
        (
            dict(log_q_pos=torch.zeros(2, dtype=torch.long)),
            TypeError,
            "'log_q_pos' must be a floating-point tensor",
        ),
        (
            # Probability 0 for the positive (an exact sampler never
            # proposes it): log Q = -inf once made the loss NaN.
            dict(log_q_pos=torch.tensor([0.0, -float('inf')])),
            ValueError,
            r"'log_q_pos' must be finite \(got -inf",
        ),
        (
            dict(log_q_neg=torch.tensor([[0.0, float('nan')], [0.0, 0.0]])),
            ValueError,
            r"'log_q_neg' must be finite \(got nan",
        ),
        (dict(temperature=float('inf')), ValueError, 'must be finite'),
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
    with pytest.raises(ValueError, match="'margin' must be finite"):
        hinge_loss(POS, NEG, margin=float('nan'))
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
            r"'tensors\[1\]' must be a torch.Tensor \(got list\)",
        ),
        (
            (torch.zeros(1), torch.zeros(2, dtype=torch.long)),
            dict(batch_size=1),
            TypeError,
            r"'tensors\[1\]' must be a floating-point tensor",
        ),
        (
            (torch.zeros(1), torch.tensor([1.0, float('nan')])),
            dict(batch_size=1),
            ValueError,
            r"'tensors\[1\]' must be finite \(got nan",
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
            torch.zeros(2, 1, dtype=torch.long),
            torch.zeros(2, dtype=torch.long),
            ValueError,
            r"'pos_ids' must have 1 dimension",
        ),
        (
            torch.zeros(2, dtype=torch.long),
            torch.zeros(3, dtype=torch.long),
            ValueError,
            r"'neg_ids' must have shape \[B\] or \[B, k\] with B = 2",
        ),
        (
            torch.zeros(2, dtype=torch.long),
            torch.zeros(2, 1, 1, dtype=torch.long),
            ValueError,
            r"'neg_ids' must have shape \[B\] or \[B, k\]",
        ),
        (
            torch.zeros(2, dtype=torch.long),
            None,
            TypeError,
            "'neg_ids' must be a torch.Tensor",
        ),
        (
            torch.zeros(2),
            torch.zeros(2, dtype=torch.long),
            TypeError,
            "'pos_ids' must hold integer ids",
        ),
    ],
)
def test_accidental_hit_mask_errors(pos_ids, neg_ids, error, match):
    with pytest.raises(error, match=match):
        accidental_hit_mask(pos_ids, neg_ids)


def test_validate_false_skips_the_finiteness_check_only():
    pos, neg = torch.tensor([float('nan')]), torch.tensor([[0.0]])
    for loss in (bpr_loss, bce_loss, hinge_loss):
        with pytest.raises(ValueError, match="'pos' must be finite"):
            loss(pos, neg)
        assert torch.isnan(loss(pos, neg, validate=False))
        with pytest.raises(TypeError, match="'validate' must be a bool"):
            loss(pos, neg, validate='no')
        with pytest.raises(ValueError, match="'neg' must have"):
            loss(pos, torch.zeros(2, 1), validate=False)  # shapes still
    assert torch.isnan(sampled_softmax_loss(pos, neg, validate=False))
    assert torch.isnan(l2_regularization(pos, batch_size=1, validate=False))
