r"""A transform that adds fresh negatives to a graph on every call."""

import math
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor
from torch_geometric.data import Data, HeteroData
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform
from torch_geometric.typing import EdgeType

from torch_geometric_negsamp._edge_types import (
    check_edge_index,
    edge_store,
    typed_positives,
)
from torch_geometric_negsamp._validate import check_bool, check_instance
from torch_geometric_negsamp.sampler.base import NegativeSampler
from torch_geometric_negsamp.sampler.registry import resolve_sampler


@functional_transform('negsamp_add_negative_samples')
class AddNegativeSamples(BaseTransform):
    r"""Adds fresh negatives to a :class:`~torch_geometric.data.Data` or
    :class:`~torch_geometric.data.HeteroData` object each time it is called
    (functional name: :obj:`negsamp_add_negative_samples`).

    The positives are read from :obj:`{key}_index` (e.g. as written by
    :class:`~torch_geometric.transforms.RandomLinkSplit` with
    :obj:`add_negative_train_samples=False`), or from :obj:`edge_index` if
    absent; with float labels, columns labelled :math:`0` are existing
    negatives and are dropped first (integer labels are classes of
    positives). The output uses exactly the attributes PyG uses:

    * binary mode: :obj:`{key}_index` ``[2, P + N]`` (positives first) and
      :obj:`{key}` (float ones and zeros; existing integer labels are shifted
      by :math:`+1` so that :math:`0` means negative, as
      :class:`~torch_geometric.transforms.RandomLinkSplit` does); with
      :obj:`split_labels=True`, :obj:`pos_{key}_index`, :obj:`pos_{key}`,
      :obj:`neg_{key}_index`, :obj:`neg_{key}` instead;
    * triplet mode: :obj:`src_index` ``[P]``, :obj:`dst_pos_index` ``[P]`` and
      :obj:`dst_neg_index` ``[P, k]`` (``[P]`` when :math:`k = 1`, as PyG
      does); row :math:`i` belongs to positive :math:`i`.

    The sampler is fitted on the first call, on the graph's
    :obj:`edge_index` plus the positives plus :obj:`extra_positives` (pass
    the validation and test edges there so that training negatives never
    collide with them), unless it was fitted already.

    Args:
        sampler (NegativeSampler or str): The sampler, or its registered
            name (then built with :obj:`mode` and :obj:`amount`).
        mode (str, optional): With a sampler name: :obj:`"binary"` or
            :obj:`"triplet"`. (default: :obj:`"binary"`)
        amount (int or float, optional): With a sampler name: negatives per
            positive. (default: :obj:`1`)
        edge_type (tuple or str, optional): The supervision edge type of a
            :class:`~torch_geometric.data.HeteroData`, resolved as PyG does
            (the ``(src, dst)`` shorthand included). (default: :obj:`None`)
        key (str, optional): The label attribute name.
            (default: :obj:`"edge_label"`)
        split_labels (bool, optional): Write positive and negative labels to
            separate attributes (binary mode). (default: :obj:`False`)
        extra_positives (torch.Tensor or list or dict, optional): Further
            known positives, ``[2, *]`` each (a tensor or a list of them);
            for a :class:`~torch_geometric.data.HeteroData`, of
            :obj:`edge_type`, or a dict keyed by it. (default: :obj:`None`)

    Raises:
        ValueError: In binary mode, if the data holds no positive edge (the
            number of negatives is :math:`\lceil P \cdot
            \mathrm{amount} \rceil` for :math:`P` positives).

    Example:
        >>> split = RandomLinkSplit(add_negative_train_samples=False)
        >>> train, val, test = split(data)
        >>> held_out = torch.cat([
        ...     val.edge_label_index[:, val.edge_label == 1],
        ...     test.edge_label_index[:, test.edge_label == 1]], dim=1)
        >>> transform = AddNegativeSamples(UniformSampler('binary'),
        ...                                extra_positives=held_out)
        >>> batch = transform(train)  # fresh negatives on every call
    """

    def __init__(
        self,
        sampler: Union[NegativeSampler, str],
        mode: str = 'binary',
        amount: Union[int, float] = 1,
        *,
        edge_type: Optional[EdgeType] = None,
        key: str = 'edge_label',
        split_labels: bool = False,
        extra_positives: Optional[
            Union[Tensor, Sequence[Tensor], Dict[EdgeType, Tensor]]
        ] = None,
    ):
        if isinstance(sampler, str):
            sampler = resolve_sampler(sampler, mode, amount)
        check_instance(
            sampler,
            'sampler',
            NegativeSampler,
            what='a NegativeSampler or a registered name',
        )
        if not isinstance(key, str) or not key:
            raise ValueError(f"'key' must be a non-empty string (got {key!r})")
        check_bool(split_labels, 'split_labels')
        if extra_positives is not None and not isinstance(
            extra_positives, (Tensor, list, tuple, dict)
        ):
            raise TypeError(
                f"'extra_positives' must be a tensor, a list of tensors or "
                f'a dict keyed by edge type '
                f'(got {type(extra_positives).__name__})'
            )
        if split_labels and sampler.is_triplet():
            raise ValueError(
                "'split_labels=True' applies to binary mode "
                'only (the sampler is in triplet mode)'
            )
        self.sampler = sampler
        self.edge_type = edge_type
        self.key = key
        self.split_labels = split_labels
        self.extra_positives = extra_positives

    def forward(self, data: Union[Data, HeteroData]):
        edge_type, store, num_src, num_dst = edge_store(data, self.edge_type)

        name = f'{self.key}_index'
        if name not in store:
            name = 'edge_index'
        pos = check_edge_index(store[name], name, num_src, num_dst)
        label = store[self.key] if self.key in store else None
        if label is not None and (
            not isinstance(label, Tensor)
            or label.dim() == 0
            or label.size(0) != pos.size(1)
        ):
            raise ValueError(
                f"'{self.key}' must hold one label per column of '{name}' "
                f'({pos.size(1)}) (got '
                f'{list(label.shape) if isinstance(label, Tensor) else label})'
            )
        if label is not None and label.is_floating_point():
            # Float labels mark existing negatives with 0 (e.g. the output of
            # RandomLinkSplit with negatives, or of this transform): only the
            # positives are kept, so that negatives are never re-labelled.
            keep = label > 0
            pos, label = pos[:, keep], label[keep]
        if self.sampler.is_binary() and pos.size(1) == 0:
            raise ValueError(
                f"'{name}' holds no positive edge (none, or every one "
                f"labelled 0 in '{self.key}'): binary mode draws "
                f'ceil(P * amount) negatives for P positives, so there is '
                f'nothing to draw them for'
            )
        if not self.sampler.is_fitted:
            extra = typed_positives(
                self.extra_positives, 'extra_positives', data, edge_type
            )
            self._fit(data, edge_type, [pos] + extra)

        if self.sampler.is_triplet():
            neg, keep = self.sampler.sample_negatives(
                pos[0], pos[1], edge_type=edge_type, return_mask=True
            )
            store.src_index = pos[0][keep]
            store.dst_pos_index = pos[1][keep]
            store.dst_neg_index = neg.squeeze(1) if neg.size(1) == 1 else neg
            return data

        num_neg = math.ceil(pos.size(1) * self.sampler.amount)
        src, dst = self.sampler.sample_pairs(num_neg, edge_type=edge_type)
        neg = torch.stack([src, dst]).to(pos.device)
        if label is None:
            pos_label = torch.ones(pos.size(1), device=pos.device)
        elif label.is_floating_point():
            pos_label = label
        else:
            pos_label = label + 1
        neg_label = torch.zeros(
            num_neg, dtype=pos_label.dtype, device=pos.device
        )
        if self.split_labels:
            store[f'pos_{self.key}_index'] = pos
            store[f'pos_{self.key}'] = pos_label
            store[f'neg_{self.key}_index'] = neg
            store[f'neg_{self.key}'] = neg_label
            for name in (f'{self.key}_index', self.key):
                if name in store:
                    del store[name]
        else:
            store[f'{self.key}_index'] = torch.cat([pos, neg], dim=1)
            store[self.key] = torch.cat([pos_label, neg_label])
        return data

    def _fit(self, data, edge_type, positives: List[Tensor]):
        if edge_type is None:
            self.sampler.fit(data, extra_positives=positives)
        else:
            self.sampler.fit(
                data,
                edge_type=edge_type,
                extra_positives={edge_type: positives},
            )

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}({self.sampler}, '
            f'edge_type={self.edge_type}, key={self.key!r}, '
            f'split_labels={self.split_labels})'
        )
