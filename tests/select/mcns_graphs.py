r"""The small graph and builders the MCNS tests share."""

import torch

from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.select import MCNS

# users 0..2, items 0..5: positives u0 {0, 1}, u1 {1, 2}, u2 {3, 4}.
# Regions (k = 3): I_0 = {2}, I_1 = {0}, I_2 = {}.
# Co-interaction sets: N(0) = {1}, N(1) = {0, 2}, N(2) = {1}, N(3) = {4},
# N(4) = {3}, N(5) = {}.
TRAIN = torch.tensor([[0, 0, 1, 1, 2, 2], [0, 1, 1, 2, 3, 4]])
# Scores of user 0 (d = 1, user embedding 1): s(0, y) = ITEM[y].
ITEM = torch.tensor([[0.1], [0.2], [2.0], [0.5], [-1.0], [1.0]])


def make_mcns(proposal='region', train=TRAIN, num=(3, 6), extra=None, **kw):
    index = PositiveIndex(train, *num, extra_positives=extra)
    if proposal == 'region':
        return MCNS(index, KHopRegion(train, num, k=3), **kw)
    return MCNS(index, proposal='state', edge_index=train, **kw)


def one(value):
    return torch.tensor([value])
