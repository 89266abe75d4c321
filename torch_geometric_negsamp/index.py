r"""The exact index of known positive pairs."""

from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_in_range,
    check_index_tensor,
    check_num_nodes,
)


def uniform(
    shape: Union[int, Tuple[int, ...]],
    device: torch.device,
    generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""Draws ``U[0, 1)`` floats of :obj:`dtype` on :obj:`device` through
    :obj:`generator` (which may live on another device: the draw then happens
    there and is moved, so that one CPU generator can drive CUDA data
    reproducibly)."""
    if isinstance(shape, int):
        shape = (shape,)
    if generator is None:
        return torch.rand(shape, device=device, dtype=dtype)
    device = torch.device(device)
    if device.type == 'cuda' and device.index is None:
        device = torch.device('cuda', torch.cuda.current_device())
    if generator.device == device or (
        generator.device.type == 'cpu' and device.type == 'cpu'
    ):
        return torch.rand(
            shape, device=device, generator=generator, dtype=dtype
        )
    return torch.rand(
        shape, generator=generator, device=generator.device, dtype=dtype
    ).to(device)


def randint_below(
    high: Tensor,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    r"""Draws one integer uniformly from ``[0, high_i)`` for every entry of
    :obj:`high` (which must be positive)."""
    # A float32 draw has only 2**24 distinct values: ranges above that
    # would miss values, and smaller ones would be visibly non-uniform, so
    # the draw itself is float64 (53 random bits, exact up to 2**53):
    r = uniform(high.shape, high.device, generator, dtype=torch.float64)
    out = (r * high.double()).long()
    return torch.minimum(out, high - 1)


class PositiveIndex:
    r"""An exact, batched index of the known positive pairs :math:`(u, v)` of
    one edge type, built once and kept on the data's device.

    The pairs are stored as sorted 64-bit keys :math:`u \cdot |V| + v`, which
    doubles as a CSR layout: the positives of source :math:`u` are one
    contiguous, sorted slice. Membership of a whole batch is one
    :func:`torch.searchsorted` call. A second key array,
    :math:`u \cdot (|V| + 1) + (v_i - i)` for the :math:`i`-th positive
    :math:`v_i` of :math:`u`, lets :meth:`sample_complement` draw a uniform
    non-positive destination for every source *exactly*, without rejection:
    the :math:`r`-th non-neighbour of :math:`u` is :math:`r + j`, where
    :math:`j` counts the positives with :math:`v_i - i \le r`.

    Memory is two ``int64`` values per positive; no per-source array is
    stored, so the source space may be large (e.g. relation x entity pairs of
    a knowledge graph).

    Args:
        edge_index (torch.Tensor): The known positives, shape ``[2, E]``
            (row 0: source, row 1: destination).
        num_src_nodes (int): Number of source nodes.
        num_dst_nodes (int, optional): Number of destination nodes; equal to
            :obj:`num_src_nodes` if not given (homogeneous graph).
            (default: :obj:`None`)
        undirected (bool, optional): Also treat every reversed pair
            :math:`(v, u)` as a positive. Needs a square index.
            (default: :obj:`False`)
        exclude_self (bool, optional): Treat every :math:`(u, u)` as a
            positive, so that a node is never its own negative. Needs a square
            index. (default: :obj:`False`)
        extra_positives (torch.Tensor or list of torch.Tensor, optional):
            Further known positives (e.g. validation and test edges) that no
            negative may hit, each of shape ``[2, *]``. (default: :obj:`None`)
    """

    def __init__(
        self,
        edge_index: Tensor,
        num_src_nodes: int,
        num_dst_nodes: Optional[int] = None,
        *,
        undirected: bool = False,
        exclude_self: bool = False,
        extra_positives: Optional[Union[Tensor, Sequence[Tensor]]] = None,
    ):
        check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
        num_src_nodes = check_num_nodes(num_src_nodes, 'num_src_nodes')
        if num_dst_nodes is None:
            num_dst_nodes = num_src_nodes
        num_dst_nodes = check_num_nodes(num_dst_nodes, 'num_dst_nodes')
        if (undirected or exclude_self) and num_src_nodes != num_dst_nodes:
            which = 'undirected' if undirected else 'exclude_self'
            raise ValueError(
                f"'{which}=True' needs as many source as destination nodes "
                f'(got {num_src_nodes} and {num_dst_nodes})'
            )
        if num_src_nodes * (num_dst_nodes + 1) >= 2**62:
            raise ValueError(
                f"'num_src_nodes' x 'num_dst_nodes' is too large for 64-bit "
                f'keys (got {num_src_nodes} x {num_dst_nodes})'
            )

        parts = [edge_index]
        if extra_positives is not None:
            if isinstance(extra_positives, Tensor):
                extra_positives = [extra_positives]
            for i, extra in enumerate(extra_positives):
                check_index_tensor(
                    extra, f'extra_positives[{i}]', dim=2, rows=2
                )
                parts.append(extra.to(edge_index.device))
        for i, part in enumerate(parts):
            name = 'edge_index' if i == 0 else f'extra_positives[{i - 1}]'
            check_in_range(part[0], f'{name}[0]', num_src_nodes)
            check_in_range(part[1], f'{name}[1]', num_dst_nodes)

        pairs = torch.cat([p.long() for p in parts], dim=1)
        if undirected:
            pairs = torch.cat([pairs, pairs.flip(0)], dim=1)
        if exclude_self:
            loop = torch.arange(num_src_nodes, device=pairs.device)
            pairs = torch.cat([pairs, loop.view(1, -1).expand(2, -1)], dim=1)

        self.num_src_nodes = num_src_nodes
        self.num_dst_nodes = num_dst_nodes
        self.undirected = undirected
        self.exclude_self = exclude_self
        self.keys = torch.unique(pairs[0] * num_dst_nodes + pairs[1])
        src = torch.div(self.keys, num_dst_nodes, rounding_mode='floor')
        # A CSR row pointer turns every row lookup into a gather; it is kept
        # unless the source space dwarfs the positives (e.g. relation x
        # entity rows of a huge knowledge graph), where binary search on the
        # keys answers the same question without the memory.
        self.rowptr: Optional[Tensor] = None
        if num_src_nodes <= 4 * self.keys.numel() + 2**20:
            count = torch.bincount(src, minlength=num_src_nodes)
            self.rowptr = torch.zeros(
                num_src_nodes + 1, dtype=torch.long, device=src.device
            )
            torch.cumsum(count, 0, out=self.rowptr[1:])
        dst = self.keys - src * num_dst_nodes
        rank = torch.arange(self.keys.numel(), device=src.device)
        rank = rank - self._row_start(src)
        self.rank_keys = src * (num_dst_nodes + 1) + (dst - rank)

    @classmethod
    def from_data(cls, data, edge_type=None, **kwargs) -> 'PositiveIndex':
        r"""Builds the index of a :class:`~torch_geometric.data.Data` (the
        graph is treated as homogeneous) or of one :obj:`edge_type` of a
        :class:`~torch_geometric.data.HeteroData`."""
        from torch_geometric.data import HeteroData

        if isinstance(data, HeteroData):
            if edge_type is None:
                raise ValueError(
                    "'edge_type' must be given for HeteroData (got None)"
                )
            edge_type = data._to_canonical(edge_type)
            src_type, _, dst_type = edge_type
            return cls(
                data[edge_type].edge_index,
                data[src_type].num_nodes,
                data[dst_type].num_nodes,
                **kwargs,
            )
        return cls(data.edge_index, data.num_nodes, **kwargs)

    # ------------------------------------------------------------ queries
    @property
    def num_edges(self) -> int:
        r"""Number of distinct positive pairs held."""
        return self.keys.numel()

    @property
    def device(self) -> torch.device:
        return self.keys.device

    def _row_start(self, src: Tensor) -> Tensor:
        if self.rowptr is not None:
            return self.rowptr[src]
        return torch.searchsorted(self.keys, src * self.num_dst_nodes)

    def _row_end(self, src: Tensor) -> Tensor:
        if self.rowptr is not None:
            return self.rowptr[src + 1]
        return torch.searchsorted(self.keys, (src + 1) * self.num_dst_nodes)

    def _check_src(self, src: Tensor, name: str = 'src') -> Tensor:
        check_index_tensor(src, name)
        if src.device != self.device:
            raise ValueError(
                f"'{name}' is on {src.device} but the index is "
                f'on {self.device}; move one of them'
            )
        check_in_range(src, name, self.num_src_nodes)
        return src.long()

    def contains(self, src: Tensor, dst: Tensor) -> Tensor:
        r"""Returns a boolean tensor, :obj:`True` where :math:`(src_i, dst_i)`
        is a known positive. :obj:`src` and :obj:`dst` broadcast.

        Args:
            src (torch.Tensor): Source nodes.
            dst (torch.Tensor): Destination nodes.
        """
        src = self._check_src(src)
        check_index_tensor(dst, 'dst')
        check_in_range(dst, 'dst', self.num_dst_nodes)
        return self._contains(src, dst.long())

    def _contains(self, src: Tensor, dst: Tensor) -> Tensor:
        query = src * self.num_dst_nodes + dst
        if self.keys.numel() == 0:
            return torch.zeros(
                query.shape, dtype=torch.bool, device=self.device
            )
        pos = torch.searchsorted(self.keys, query.reshape(-1))
        pos = pos.clamp_(max=self.keys.numel() - 1)
        return (self.keys[pos] == query.reshape(-1)).view(query.shape)

    def degree(self, src: Optional[Tensor] = None) -> Tensor:
        r"""Returns the number of positives of every node in :obj:`src` (of
        every source node if :obj:`src` is :obj:`None`)."""
        if src is None:
            src_all = torch.div(
                self.keys, self.num_dst_nodes, rounding_mode='floor'
            )
            return torch.bincount(src_all, minlength=self.num_src_nodes)
        src = self._check_src(src)
        return self._row_end(src) - self._row_start(src)

    def num_candidates(self, src: Tensor) -> Tensor:
        r"""Returns, for every node in :obj:`src`, how many destinations are
        *not* known positives of it."""
        return self.num_dst_nodes - self.degree(src)

    def neighbors(self, src: Tensor) -> Tuple[Tensor, Tensor]:
        r"""Returns the positives of the nodes in :obj:`src` as a pair
        ``(batch, dst)``: :obj:`dst[j]` is a positive of :obj:`src[batch[j]]`;
        destinations of one source are sorted."""
        src = self._check_src(src).view(-1)
        start, end = self._row_start(src), self._row_end(src)
        count = end - start
        batch = torch.repeat_interleave(
            torch.arange(src.numel(), device=self.device), count
        )
        offset = torch.arange(batch.numel(), device=self.device)
        offset = offset - torch.repeat_interleave(
            count.cumsum(0) - count, count
        )
        dst = (
            self.keys[start[batch] + offset] - src[batch] * self.num_dst_nodes
        )
        return batch, dst

    def sample_complement(
        self,
        src: Tensor,
        generator: Optional[torch.Generator] = None,
    ) -> Tensor:
        r"""Draws, for every node in :obj:`src`, one destination uniformly
        among those that are not its known positives. Exact and rejection
        free: one :func:`torch.searchsorted` per draw.

        Args:
            src (torch.Tensor): Source nodes, any shape; the output has the
                same shape.
            generator (torch.Generator, optional): The random generator.
                (default: :obj:`None`)

        Raises:
            ValueError: If a node in :obj:`src` is a positive of every
                destination.
        """
        src = self._check_src(src)
        start = self._row_start(src)
        count = self.num_dst_nodes - (self._row_end(src) - start)
        if count.numel() > 0 and bool((count <= 0).any()):
            bad = int(src[count <= 0].view(-1)[0])
            raise ValueError(
                f"node {bad} in 'src' is a known positive of all "
                f'{self.num_dst_nodes} destination nodes; no negative exists'
            )
        return self._sample_complement(src, start, count, generator)

    def _sample_complement(
        self,
        src: Tensor,
        start: Tensor,
        count: Tensor,
        generator: Optional[torch.Generator],
    ) -> Tensor:
        r = randint_below(count, generator)
        if self.keys.numel() == 0:
            return r
        query = src * (self.num_dst_nodes + 1) + r
        j = torch.searchsorted(self.rank_keys, query.reshape(-1), right=True)
        return r + (j.view(query.shape) - start)

    # ------------------------------------------------------------- device
    def to(self, device) -> 'PositiveIndex':
        r"""Moves the index to :obj:`device` (in place) and returns it."""
        self.keys = self.keys.to(device)
        self.rank_keys = self.rank_keys.to(device)
        if self.rowptr is not None:
            self.rowptr = self.rowptr.to(device)
        return self

    def share_memory_(self) -> 'PositiveIndex':
        self.keys.share_memory_()
        self.rank_keys.share_memory_()
        if self.rowptr is not None:
            self.rowptr.share_memory_()
        return self

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_edges={self.num_edges}, '
            f'num_src_nodes={self.num_src_nodes}, '
            f'num_dst_nodes={self.num_dst_nodes}, '
            f'undirected={self.undirected}, '
            f'exclude_self={self.exclude_self}, device={self.device})'
        )
