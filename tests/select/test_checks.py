r"""The selectors' private checks and the shared ``check_ids_in_range``
(several id tensors, one host synchronisation) they use."""

import pytest
import torch

from torch_geometric_negsamp._validate import check_ids_in_range
from torch_geometric_negsamp.select._checks import check_k_fits, check_scores


def test_check_ids_in_range_passes_valid_and_empty_tensors():
    check_ids_in_range(
        [
            ('i', torch.tensor([0, 4]), 5, 'item'),
            ('j', torch.tensor([7]), None, 'user'),
            ('k', torch.zeros(0, dtype=torch.long), 1, 'item'),
        ]
    )
    check_ids_in_range([])


def test_check_ids_in_range_names_the_first_offender():
    good = ('a', torch.tensor([1]), 2, 'item')
    with pytest.raises(ValueError, match="'x' holds item id 5, out of .*5"):
        check_ids_in_range([good, ('x', torch.tensor([0, 5]), 5, 'item')])
    with pytest.raises(ValueError, match="'x' holds user id -2; ids must"):
        check_ids_in_range([('x', torch.tensor([3, -2]), None, 'user')])
    with pytest.raises(ValueError, match="'y' holds source id -1"):
        check_ids_in_range(
            [
                good,
                ('y', torch.tensor([-1]), 3, 'source'),
                ('z', torch.tensor([9]), 3, 'source'),
            ]
        )


def test_check_scores_and_k():
    scores = torch.zeros(2, 3)
    assert check_scores(scores) is scores
    with pytest.raises(ValueError, match="'s' holds an empty candidate pool"):
        check_scores(torch.zeros(2, 0), 's')
    with pytest.raises(ValueError, match="'s' must be finite"):
        check_scores(torch.tensor([[float('inf')]]), 's')
    nan = torch.tensor([[float('nan')]])
    assert check_scores(nan, finite=False) is nan
    check_k_fits(3, 3)
    with pytest.raises(ValueError, match=r"'k' \(4\) cannot exceed .*M = 3"):
        check_k_fits(4, 3)
