r"""A pure-PyTorch neighbour-sampling backend."""

import warnings
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.sampler import (
    HeteroSamplerOutput,
    NeighborSampler,
    SamplerOutput,
)
from torch_geometric.sampler.base import SubgraphType
from torch_geometric.typing import NodeType

from torch_geometric_negsamp._random import (
    SeededStream,
    group_shuffle,
    make_generator,
    randint_below,
)
from torch_geometric_negsamp._validate import (
    check_bool,
)
from torch_geometric_negsamp.index import sorted_contains


class TorchNeighborSampler(NeighborSampler, SeededStream):
    r"""A :class:`torch_geometric.sampler.NeighborSampler` whose sampling
    routine is written in plain PyTorch, so that
    :class:`~torch_geometric.loader.NeighborLoader` and
    :class:`~torch_geometric.loader.LinkNeighborLoader` work without the
    compiled :obj:`pyg-lib` or :obj:`torch-sparse` packages (PyG's own
    :class:`~torch_geometric.sampler.NeighborSampler` raises an
    :class:`ImportError` without them).

    It implements the neighbour sampling of GraphSAGE (Hamilton et al.,
    2017, "Inductive Representation Learning on Large Graphs"): at hop
    :math:`h`, every node reached at hop :math:`h - 1` draws at most
    :obj:`num_neighbors[h]` of its in-neighbours, uniformly, with or without
    replacement (:obj:`-1` takes all of them). Each hop is a handful of
    vectorised tensor operations over the whole frontier, including in
    :obj:`disjoint` mode, where a node is identified by its pair
    (subgraph, node) instead of looping over the seeds.

    The output follows :obj:`pyg-lib`'s contract (:obj:`csc=True`), so
    everything downstream in PyG is unchanged: :obj:`node` starts with the
    seeds in the given order, followed by the nodes reached at each hop in
    order of discovery; :obj:`row` (sampled neighbour) and :obj:`col`
    (frontier node) are local indices into :obj:`node`; :obj:`edge` indexes
    the CSC-permuted edge arrays (mapped back by
    :attr:`edge_permutation`); :obj:`batch` gives the subgraph of every node
    in :obj:`disjoint` mode. Draws are exact integer draws (uniform
    neighbour positions and uniform shuffles, however large the degree).
    By default they use PyTorch's global generator, as PyG's backends do,
    so runs are reproducible under :func:`torch.manual_seed` and every
    :class:`~torch.utils.data.DataLoader` worker draws its own stream; with
    a :obj:`seed` or :obj:`generator` the sampler has a stream of its own
    (:class:`~torch_geometric_negsamp._random.SeededStream`: distinct and
    reproducible in every worker too).

    The cost of a hop is linear in the summed in-degree of the frontier
    nodes that have more than :obj:`num_neighbors[h]` neighbours (every such
    neighbour list is shuffled), so the compiled backends remain faster on
    large graphs.

    Supported: homogeneous and heterogeneous graphs,
    :obj:`subgraph_type="directional"` and :obj:`"bidirectional"`,
    :obj:`disjoint`, :obj:`replace`. Not supported (they raise
    :class:`NotImplementedError`): temporal sampling (:obj:`time_attr`),
    weighted sampling (:obj:`weight_attr`), :obj:`subgraph_type="induced"`
    and :obj:`sample_direction="backward"`.

    Args:
        data, num_neighbors: The graph (:class:`~torch_geometric.data.Data`
            or :class:`~torch_geometric.data.HeteroData`) and the number of
            neighbours to sample per node at each hop (:obj:`-1` for all),
            per edge type for heterogeneous graphs, as in
            :class:`~torch_geometric.sampler.NeighborSampler`.
        subgraph_type (str, optional): :obj:`"directional"` or
            :obj:`"bidirectional"`. (default: :obj:`"directional"`)
        replace (bool, optional): Sample with replacement.
            (default: :obj:`False`)
        disjoint (bool, optional): Give every seed its own subgraph.
            (default: :obj:`False`)
        is_sorted (bool, optional): Whether :obj:`edge_index` is already
            sorted by column. (default: :obj:`False`)
        share_memory (bool, optional): Move the CSC arrays to shared memory.
            (default: :obj:`False`)
        seed (int, optional): Seed of the sampler's own stream; each
            :class:`~torch.utils.data.DataLoader` worker derives a distinct,
            reproducible stream from it. (default: :obj:`None`, PyTorch's
            global generator)
        generator (torch.Generator, optional): A generator to use instead of
            :obj:`seed` in the main process (workers derive their own from
            its initial seed). (default: :obj:`None`)
        **kwargs: Further arguments of
            :class:`~torch_geometric.sampler.NeighborSampler`
            (:obj:`time_attr`, :obj:`weight_attr`, :obj:`directed`,
            :obj:`sample_direction`, :obj:`temporal_strategy`), accepted for
            signature compatibility; unsupported values raise.

    Example:
        >>> sampler = TorchNeighborSampler(data, num_neighbors=[10, 5])
        >>> loader = torch_geometric.loader.NeighborLoader(
        ...     data, [10, 5], neighbor_sampler=sampler, batch_size=128)
    """

    def __init__(
        self,
        data,
        num_neighbors,
        subgraph_type: Union[SubgraphType, str] = 'directional',
        replace: bool = False,
        disjoint: bool = False,
        temporal_strategy: str = 'uniform',
        time_attr: Optional[str] = None,
        weight_attr: Optional[str] = None,
        is_sorted: bool = False,
        share_memory: bool = False,
        directed: bool = True,
        sample_direction: str = 'forward',
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        name = self.__class__.__name__
        for flag, value in (
            ('replace', replace),
            ('disjoint', disjoint),
            ('is_sorted', is_sorted),
            ('share_memory', share_memory),
            ('directed', directed),
        ):
            check_bool(value, flag)
        make_generator(seed, generator)  # at most one, each of its kind
        self.seed, self.generator = seed, generator
        if time_attr is not None:
            raise NotImplementedError(
                f"'{name}' does not support temporal sampling (got "
                f"time_attr={time_attr!r}); install 'pyg-lib' for it"
            )
        if weight_attr is not None:
            raise NotImplementedError(
                f"'{name}' does not support weighted sampling (got "
                f"weight_attr={weight_attr!r}); install 'pyg-lib' for it"
            )
        if not directed or SubgraphType(subgraph_type) == SubgraphType.induced:
            raise NotImplementedError(
                f"'{name}' does not support induced subgraphs (got "
                f'subgraph_type={str(subgraph_type)!r}, directed='
                f"{directed}); install 'torch-sparse' for them"
            )
        if sample_direction != 'forward':
            raise NotImplementedError(
                f"'{name}' supports only sample_direction='forward' (got "
                f'{sample_direction!r})'
            )
        with warnings.catch_warnings():
            # PyG warns that sampling without 'pyg-lib' is deprecated; that
            # refers to its own 'torch-sparse' path, which is not used here.
            warnings.filterwarnings('ignore', message=".*'pyg-lib'.*")
            super().__init__(
                data,
                num_neighbors,
                subgraph_type=subgraph_type,
                replace=replace,
                disjoint=disjoint,
                temporal_strategy=temporal_strategy,
                is_sorted=is_sorted,
                share_memory=share_memory,
            )

    def _sample(
        self,
        seed: Union[Tensor, Dict[NodeType, Tensor]],
        seed_time: Optional[Union[Tensor, Dict[NodeType, Tensor]]] = None,
        **kwargs,
    ) -> Union[SamplerOutput, HeteroSamplerOutput]:
        if seed_time is not None:
            raise NotImplementedError(
                f"'{self.__class__.__name__}' does not support temporal "
                f"sampling (got 'seed_time')"
            )
        generator = self.get_generator()  # distinct per worker
        if isinstance(seed, dict):
            return self._sample_hetero(seed, generator)
        return self._sample_homo(seed, generator)

    # ---------------------------------------------------------- homogeneous
    def _sample_homo(
        self, seed: Tensor, generator: Optional[torch.Generator]
    ) -> SamplerOutput:
        seed = seed.to(self.colptr.device, torch.long)
        num_nodes = self.num_nodes
        nodes = _NodeSet(seed, num_nodes, self.disjoint)
        frontier = nodes.range(0, nodes.count)
        rows: List[Tensor] = []
        cols: List[Tensor] = []
        edges: List[Tensor] = []
        num_sampled_nodes = [seed.numel()]
        num_sampled_edges = []
        for k in self.num_neighbors.get_mapped_values():
            before = nodes.count
            nbr, seg, epos = _sample_neighbors(
                self.colptr, self.row, frontier[1], k, self.replace, generator
            )
            batch = None if frontier[2] is None else frontier[2][seg]
            rows.append(nodes.insert(nbr, batch))
            cols.append(frontier[0][seg])
            edges.append(epos)
            num_sampled_nodes.append(nodes.count - before)
            num_sampled_edges.append(epos.numel())
            frontier = nodes.range(before, nodes.count)
        return SamplerOutput(
            node=nodes.node(),
            row=_cat(rows, seed),
            col=_cat(cols, seed),
            edge=_cat(edges, seed),
            batch=nodes.batch(),
            num_sampled_nodes=num_sampled_nodes,
            num_sampled_edges=num_sampled_edges,
        )

    # -------------------------------------------------------- heterogeneous
    def _sample_hetero(
        self,
        seed: Dict[NodeType, Tensor],
        generator: Optional[torch.Generator],
    ) -> HeteroSamplerOutput:
        device = (
            next(iter(self.colptr_dict.values())).device
            if len(self.colptr_dict) > 0
            else torch.device('cpu')
        )
        empty = torch.empty(0, dtype=torch.long, device=device)
        nodes: Dict[NodeType, _NodeSet] = {}
        for node_type in self.node_types:
            node_seed = seed.get(node_type, empty).to(device, torch.long)
            nodes[node_type] = _NodeSet(
                node_seed, self.num_nodes[node_type], self.disjoint
            )
        num_neighbors = self.num_neighbors.get_mapped_values(self.edge_types)
        num_hops = self.num_neighbors.num_hops
        rows = {edge_type: [] for edge_type in self.edge_types}
        cols = {edge_type: [] for edge_type in self.edge_types}
        edges = {edge_type: [] for edge_type in self.edge_types}
        num_sampled_nodes = {t: [nodes[t].count] for t in self.node_types}
        num_sampled_edges = {edge_type: [] for edge_type in self.edge_types}
        frontier = {
            t: nodes[t].range(0, nodes[t].count) for t in self.node_types
        }
        for hop in range(num_hops):
            before = {t: nodes[t].count for t in self.node_types}
            for edge_type in self.edge_types:
                rel = self.to_rel_type[edge_type]
                values = num_neighbors.get(rel, [])
                k = values[hop] if hop < len(values) else 0
                src_type, _, dst_type = edge_type
                local, glob, batch = frontier[dst_type]
                nbr, seg, epos = _sample_neighbors(
                    self.colptr_dict[rel],
                    self.row_dict[rel],
                    glob,
                    k,
                    self.replace,
                    generator,
                )
                rows[edge_type].append(
                    nodes[src_type].insert(
                        nbr, None if batch is None else batch[seg]
                    )
                )
                cols[edge_type].append(local[seg])
                edges[edge_type].append(epos)
                num_sampled_edges[edge_type].append(epos.numel())
            for t in self.node_types:
                num_sampled_nodes[t].append(nodes[t].count - before[t])
                frontier[t] = nodes[t].range(before[t], nodes[t].count)
        return HeteroSamplerOutput(
            node={t: nodes[t].node() for t in self.node_types},
            row={et: _cat(v, empty) for et, v in rows.items()},
            col={et: _cat(v, empty) for et, v in cols.items()},
            edge={et: _cat(v, empty) for et, v in edges.items()},
            batch=(
                {t: nodes[t].batch() for t in self.node_types}
                if self.disjoint
                else None
            ),
            num_sampled_nodes=num_sampled_nodes,
            num_sampled_edges=num_sampled_edges,
        )

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(num_neighbors='
            f'{self.num_neighbors.values}, replace={self.replace}, '
            f'disjoint={self.disjoint}, '
            f'subgraph_type={self.subgraph_type.value!r})'
        )


def _cat(parts: List[Tensor], like: Tensor) -> Tensor:
    if len(parts) == 0:
        return torch.empty(0, dtype=torch.long, device=like.device)
    return torch.cat(parts)


def _expand(start: Tensor, count: Tensor) -> Tuple[Tensor, Tensor]:
    r"""For every segment :math:`i`, enumerates the positions
    ``start[i], ..., start[i] + count[i] - 1``. Returns ``(segment,
    position)``, grouped by segment."""
    seg = torch.repeat_interleave(
        torch.arange(count.numel(), device=count.device), count
    )
    first = torch.repeat_interleave(count.cumsum(0) - count, count)
    offset = torch.arange(seg.numel(), device=count.device) - first
    return seg, start[seg] + offset


def _sample_neighbors(
    colptr: Tensor,
    row: Tensor,
    nodes: Tensor,
    k: int,
    replace: bool,
    generator: Optional[torch.Generator],
) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Uniformly draws up to :obj:`k` in-neighbours of every node in
    :obj:`nodes` (all of them if :obj:`k < 0`) from a CSC graph.

    Returns:
        ``(neighbour, segment, edge)``: the global neighbour ids, the
        position in :obj:`nodes` of the node each was drawn for, and the
        position of the edge in the CSC arrays; grouped by segment.
    """
    empty = torch.empty(0, dtype=torch.long, device=colptr.device)
    if k == 0 or nodes.numel() == 0:
        return empty, empty, empty
    start = colptr[nodes]
    deg = colptr[nodes + 1] - start
    if k > 0 and replace:
        seg = torch.arange(nodes.numel(), device=nodes.device)
        seg = seg[deg > 0].repeat_interleave(k)
        epos = start[seg] + randint_below(deg[seg], generator)
        return row[epos], seg, epos
    if k < 0:
        seg, epos = _expand(start, deg)
        return row[epos], seg, epos
    # Without replacement: nodes with at most k neighbours keep all of them;
    # the others keep the first k of a uniformly shuffled neighbour list.
    small = (deg <= k).nonzero().view(-1)
    large = (deg > k).nonzero().view(-1)
    seg_small, epos_small = _expand(start[small], deg[small])
    seg_small = small[seg_small]
    seg_large, epos_large = _expand(start[large], deg[large])
    order, rank = group_shuffle(seg_large, large.numel(), generator)
    order = order[rank < k]
    seg = torch.cat([seg_small, large[seg_large[order]]])
    epos = torch.cat([epos_small, epos_large[order]])
    perm = seg.argsort(stable=True)
    seg, epos = seg[perm], epos[perm]
    return row[epos], seg, epos


class _NodeSet:
    r"""The nodes of a sampled (batch of) subgraph(s) and their local ids.

    A node is identified by the key ``batch * num_nodes + node`` (just
    ``node`` without :obj:`disjoint`), so that one sorted key array answers
    "which local id does this node have in that subgraph" for a whole hop
    with :func:`torch.searchsorted`; no per-seed loop and no array of the
    size of the graph is needed.
    """

    def __init__(self, seed: Tensor, num_nodes: int, disjoint: bool):
        self.num_nodes = num_nodes
        self.disjoint = disjoint
        self.count = seed.numel()
        batch = (
            torch.arange(seed.numel(), device=seed.device)
            if disjoint
            else None
        )
        self._nodes = [seed]
        self._batches = [batch] if disjoint else []
        keys = self._key(seed, batch)
        sorted_keys, perm = keys.sort(stable=True)
        first = torch.ones_like(sorted_keys, dtype=torch.bool)
        first[1:] = sorted_keys[1:] != sorted_keys[:-1]
        # Repeated seeds map to their first occurrence:
        self.sorted_keys = sorted_keys[first]
        self.sorted_ids = perm[first]
        self._all_nodes = seed
        self._all_batch = batch

    def _key(self, node: Tensor, batch: Optional[Tensor]) -> Tensor:
        return node if batch is None else batch * self.num_nodes + node

    def insert(self, node: Tensor, batch: Optional[Tensor]) -> Tensor:
        r"""Adds the nodes not seen yet (in order of first appearance) and
        returns the local ids of all of :obj:`node`."""
        keys = self._key(node, batch)
        miss = (~sorted_contains(self.sorted_keys, keys)).nonzero().view(-1)
        if miss.numel() > 0:
            self._add(keys[miss])
        # Every key is known now: its position gives its local id.
        return self.sorted_ids[torch.searchsorted(self.sorted_keys, keys)]

    def _add(self, keys: Tensor) -> None:
        r"""Gives the distinct :obj:`keys` (none known yet) the next local
        ids, in order of first appearance."""
        uniq, inverse = keys.unique(return_inverse=True)
        first = torch.full(
            (uniq.numel(),), keys.numel(), dtype=torch.long, device=keys.device
        )
        first.scatter_reduce_(
            0,
            inverse,
            torch.arange(keys.numel(), device=keys.device),
            reduce='amin',
        )
        order = first.argsort()
        rank = torch.empty_like(order)
        rank[order] = torch.arange(order.numel(), device=order.device)
        new_ids = self.count + rank
        new_keys = uniq[order]
        if self.disjoint:
            self._nodes.append(new_keys % self.num_nodes)
            self._batches.append(
                torch.div(new_keys, self.num_nodes, rounding_mode='floor')
            )
        else:
            self._nodes.append(new_keys)
        all_keys = torch.cat([self.sorted_keys, uniq])
        all_ids = torch.cat([self.sorted_ids, new_ids])
        self.sorted_keys, perm = all_keys.sort()
        self.sorted_ids = all_ids[perm]
        self.count += uniq.numel()
        self._all_nodes = self._all_batch = None

    def node(self) -> Tensor:
        if self._all_nodes is None:
            self._all_nodes = torch.cat(self._nodes)
        return self._all_nodes

    def batch(self) -> Optional[Tensor]:
        if not self.disjoint:
            return None
        if self._all_batch is None:
            self._all_batch = torch.cat(self._batches)
        return self._all_batch

    def range(
        self, start: int, end: int
    ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        r"""Returns ``(local ids, global ids, batch)`` of the local ids in
        ``[start, end)``."""
        node = self.node()
        local = torch.arange(start, end, device=node.device)
        batch = self.batch()
        return (
            local,
            node[start:end],
            (None if batch is None else batch[start:end]),
        )
