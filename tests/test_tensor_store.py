import torch

from torch_geometric_negsamp._tensor_store import TensorStore
from torch_geometric_negsamp.index import PositiveIndex


class _Leaf(TensorStore):
    _TENSORS = ('a', 'b')

    def __init__(self):
        self.a = torch.arange(5)  # 40 bytes
        self.b = None
        self.moves = 0

    def _moved(self):
        self.moves += 1


class _Tree(TensorStore):
    _TENSORS = ('c',)

    def __init__(self):
        self.c = torch.zeros(3, dtype=torch.int32)  # 12 bytes
        self.leaf = _Leaf()
        self.index = PositiveIndex(torch.tensor([[0, 1], [1, 0]]), 2)

    def _parts(self):
        return [self.leaf, self.index]


def test_nbytes_counts_own_tensors_and_every_part():
    tree = _Tree()
    assert tree.nbytes == 12 + 40 + tree.index.nbytes
    assert tree.index.nbytes > 0


def test_to_and_share_memory_reach_every_part_and_skip_none():
    tree = _Tree()
    a = tree.leaf.a
    assert tree.to('meta') is tree
    assert tree.c.device.type == 'meta' and tree.leaf.a.device.type == 'meta'
    assert tree.index.keys.device.type == 'meta' and tree.leaf.b is None
    assert a.device.type == 'cpu'  # moved by assignment, not in place
    assert tree.leaf.moves == 1
    tree = _Tree()
    assert tree.share_memory_() is tree
    assert tree.c.is_shared() and tree.leaf.a.is_shared()
    assert all(t.is_shared() for t in tree.index._tensors())
    assert tree.leaf.moves == 1
