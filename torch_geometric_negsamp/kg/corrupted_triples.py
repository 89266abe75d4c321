r"""The corrupted triples a :class:`TripleCorruption` returns."""

from typing import NamedTuple

from torch import Tensor


class CorruptedTriples(NamedTuple):
    r"""Negative triples drawn for a batch of :math:`B` positive triples,
    :math:`k` per positive: negative :math:`j` of positive :math:`i` is
    ``(head[i, j], relation[i, j], tail[i, j])``. Every field has shape
    ``[B, k]`` (also for :math:`k = 1`), so that a scorer can be called on
    the three tensors as it is on the positives.

    Attributes:
        head (torch.Tensor): Heads, ``[B, k]`` (:obj:`long`).
        relation (torch.Tensor): Relations, ``[B, k]`` (:obj:`long`; a
            broadcast view of the positives' relations, never replaced).
        tail (torch.Tensor): Tails, ``[B, k]`` (:obj:`long`).
        head_replaced (torch.Tensor): ``[B, k]`` :obj:`bool`, :obj:`True`
            where the head was replaced and :obj:`False` where the tail
            was: the side of every corruption.
    """

    head: Tensor
    relation: Tensor
    tail: Tensor
    head_replaced: Tensor
