r"""The selectors' private checks and the shared ``check_values`` (one host
synchronisation for several value checks) they use."""

import pytest
import torch

from torch_geometric_negsamp._validate import check_values
from torch_geometric_negsamp.select._checks import check_k_fits, check_scores


def test_check_values_passes_valid_tensors_and_empty_ones():
    check_values(
        finite=[('a', torch.zeros(3)), ('e', torch.zeros(0))],
        ids=[
            ('i', torch.tensor([0, 4]), 5, 'item'),
            ('j', torch.tensor([7]), None, 'user'),
            ('k', torch.zeros(0, dtype=torch.long), 1, 'item'),
        ],
    )
    check_values()


def test_check_values_names_the_first_offender():
    ok, nan = torch.zeros(2), torch.tensor([0.0, float('nan')])
    with pytest.raises(ValueError, match="'b' must be finite .*nan"):
        check_values(finite=[('a', ok), ('b', nan), ('c', nan)])
    with pytest.raises(ValueError, match="'x' holds item id 5, out of .*5"):
        check_values(ids=[('x', torch.tensor([0, 5]), 5, 'item')])
    with pytest.raises(ValueError, match="'x' holds user id -2; ids must"):
        check_values(ids=[('x', torch.tensor([3, -2]), None, 'user')])
    # finite checks come first, whatever fails among the ids:
    with pytest.raises(ValueError, match="'b' must be finite"):
        check_values(
            finite=[('b', nan)], ids=[('x', torch.tensor([-1]), 3, 'item')]
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
