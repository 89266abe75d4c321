r"""Drop-in replacements for the negative sampling functions of
:mod:`torch_geometric.utils`: same arguments, defaults and return formats
as their PyG 2.8 namesakes, so that

.. code-block:: python

    from torch_geometric_negsamp.utils import negative_sampling

replaces ``from torch_geometric.utils import negative_sampling``. They are
exact (no returned pair is a positive, nor a self-loop where PyG excludes
them), return the count asked for (or every non-edge, with a warning),
raise where PyG loops forever, take bipartite graphs as
:obj:`num_nodes=(num_src, num_dst)`, draw through :obj:`generator`, and can
reuse a prebuilt :class:`~torch_geometric_negsamp.PositiveIndex`
(:obj:`index=`). The key spaces and draws they rest on live in the private
modules :mod:`._keys`, :mod:`._rejection` and :mod:`._exact`.
"""

from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._random import randint_below
from torch_geometric_negsamp._validate import (
    check_batch_vector,
    check_bool,
    check_edge_ids,
    check_generator,
    check_index_tensor,
    check_positive_int,
    check_request_size,
    check_same_device,
)
from torch_geometric_negsamp.index import PositiveIndex
from torch_geometric_negsamp.utils._arguments import (
    UNBOUNDED,
    NumNodes,
    check_common,
    check_index,
    check_index_kind,
    check_pairs_fit,
    num_requested,
    resolve_sizes,
    warn_short,
)
from torch_geometric_negsamp.utils._exact import exact_keys
from torch_geometric_negsamp.utils._keys import (
    UNDIRECTED,
    KeySpace,
    decode_single,
    kind_of,
    layout,
    space_size,
)
from torch_geometric_negsamp.utils._rejection import draw_single


# ---------------------------------------------------------------- public
def negative_sampling(
    edge_index: Tensor,
    num_nodes: NumNodes = None,
    num_neg_samples: Optional[Union[int, float]] = None,
    method: str = 'sparse',
    force_undirected: bool = False,
    *,
    generator: Optional[torch.Generator] = None,
    index: Optional[PositiveIndex] = None,
) -> Tensor:
    r"""Samples random negative edges of a graph given by
    :obj:`edge_index`: a drop-in for
    :func:`torch_geometric.utils.negative_sampling` that is exact, returns
    the count asked for, and can reuse a prebuilt index.

    The result is a uniformly random set of distinct pairs that are not
    edges, in random order: ordered pairs :math:`(u, v)`, :math:`u \ne v`, of
    a homogeneous graph; pairs of a bipartite graph; unordered pairs
    :math:`\{u, v\}` with :obj:`force_undirected=True` (neither direction an
    edge). Sparse requests are drawn by rejection of positives and duplicates
    in at most a few vectorised rounds (without an index, the edge list is
    scanned once per round and never sorted); dense requests, and the rare
    draw still short after those rounds, are drawn exactly over the
    complement of the edges.

    Args:
        edge_index (torch.Tensor): The edge indices, shape ``[2, E]``.
        num_nodes (int or Tuple[int, int], optional): The number of nodes;
            a pair :obj:`(num_src_nodes, num_dst_nodes)` makes the graph
            bipartite. If :obj:`None`, :obj:`max_val + 1` of
            :obj:`edge_index` (or the sizes of :obj:`index`).
            (default: :obj:`None`)
        num_neg_samples (int or float, optional): The number of negative
            pairs; a float is a ratio of :math:`E`; :obj:`None` means
            :math:`E`. If more are asked for than non-edges exist, all of
            them are returned with a warning. (default: :obj:`None`)
        method (str, optional): :obj:`"sparse"` or :obj:`"dense"`, accepted
            for compatibility; the strategy is chosen from the graph's
            density and both give the same distribution.
            (default: :obj:`"sparse"`)
        force_undirected (bool, optional): Sample unordered pairs and return
            each in both directions, as PyG does (:obj:`num_neg_samples` is
            halved, rounding down). Ignored for bipartite graphs.
            (default: :obj:`False`)
        generator (torch.Generator, optional): The random generator (may live
            on another device than the data). (default: :obj:`None`)
        index (PositiveIndex, optional): A prebuilt index of the positives,
            reused instead of :obj:`edge_index` (which then only sets the
            default count; its ids are not read): build it once with
            ``PositiveIndex(edge_index, N, exclude_self=True,
            undirected=force_undirected)``, or
            ``PositiveIndex(edge_index, num_src, num_dst)`` for a bipartite
            graph. It may hold further positives to avoid (its
            :obj:`extra_positives`). (default: :obj:`None`)

    Returns:
        torch.Tensor: The negative pairs, shape ``[2, num_neg_samples]`` (with
        :obj:`force_undirected`, ``[2, 2 * (num_neg_samples // 2)]``: the pairs
        followed by their reverses), dtype and device of :obj:`edge_index`.

    Raises:
        TypeError: If an argument has the wrong type (a flag that is not a
            :class:`bool` included).
        ValueError: If :obj:`edge_index` is not ``[2, E]`` or is a meta
            tensor, holds a negative id or one out of range, a count is not
            finite and non-negative, the output would not fit in memory, or
            :obj:`index` does not match the call.

    Example:
        >>> edge_index = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
        >>> negative_sampling(edge_index, num_neg_samples=3,
        ...                   generator=torch.Generator().manual_seed(0))
        tensor([[0, 1, 3],
                [2, 0, 2]])
    """
    num_neg_samples = check_common(
        edge_index, num_neg_samples, method, force_undirected, generator
    )
    index = check_index(index, edge_index)
    num_src, num_dst, bipartite = resolve_sizes(edge_index, num_nodes, index)
    kind = kind_of(bipartite, force_undirected)
    if index is not None:
        check_index_kind(index, kind)
    num = num_requested(num_neg_samples, edge_index.size(1))
    if kind == UNDIRECTED:
        num //= 2
    check_pairs_fit(
        min(num, space_size(kind, num_src, num_dst)), kind, edge_index.device
    )
    if num == 0:
        return edge_index.new_empty((2, 0))
    key, drawn = draw_single(
        kind, edge_index, num_src, num_dst, num, index, generator
    )
    if drawn < num:
        warn_short('negative_sampling', num, drawn)
    row, col = decode_single(kind, key, num_src, num_dst)
    if kind == UNDIRECTED:  # the pairs, then their reverses
        row, col = torch.cat([row, col]), torch.cat([col, row])
    return torch.stack([row, col]).to(edge_index.dtype)


def batched_negative_sampling(
    edge_index: Tensor,
    batch: Union[Tensor, Tuple[Tensor, Tensor]],
    num_neg_samples: Optional[Union[int, float]] = None,
    method: str = 'sparse',
    force_undirected: bool = False,
    *,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    r"""Samples random negative edges of several graphs given by
    :obj:`edge_index` and :obj:`batch`: a drop-in for
    :func:`torch_geometric.utils.batched_negative_sampling`.

    Every graph gets its own negatives, drawn as in
    :func:`negative_sampling` within the graph (exact, distinct, uniform),
    all graphs at once instead of one call per graph. The count applies per
    graph: :obj:`num_neg_samples` pairs, a ratio of the graph's edges, or one
    per edge. Unlike PyG, graphs after the last one that has edges also get
    their negatives.

    There is no :obj:`index` argument: a mini-batch of graphs changes from
    call to call, and the one sort per call is what the per-graph index
    would cost to build anyway.

    Args:
        edge_index (torch.Tensor): The edge indices, shape ``[2, E]``; every
            edge joins two nodes of the same graph.
        batch (torch.Tensor or Tuple[torch.Tensor, torch.Tensor]): The
            sorted graph id of every node, shape ``[N]``; a pair
            :obj:`(src_batch, dst_batch)` makes the graphs bipartite.
        num_neg_samples (int or float, optional): Negatives per graph: a
            count, a ratio of the graph's edges, or :obj:`None` for one per
            edge. Graphs with fewer non-edges give all they have (with a
            warning). (default: :obj:`None`)
        method (str, optional): :obj:`"sparse"` or :obj:`"dense"`, accepted
            for compatibility. (default: :obj:`"sparse"`)
        force_undirected (bool, optional): Unordered pairs, returned in both
            directions (per graph: the pairs, then their reverses). Ignored
            for bipartite graphs. (default: :obj:`False`)
        generator (torch.Generator, optional): The random generator.
            (default: :obj:`None`)

    Returns:
        torch.Tensor: The negative pairs, shape ``[2, *]``, grouped by graph
        in graph order, dtype and device of :obj:`edge_index`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If :obj:`batch` is not sorted or non-negative, an id is
            negative or out of range, an edge joins two graphs, a count is
            not finite and non-negative, or the output would not fit in
            memory.

    Example:
        >>> edge_index = torch.tensor([[0, 0, 1, 2, 4, 4, 5, 6],
        ...                            [0, 1, 2, 3, 4, 5, 6, 7]])
        >>> batch = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
        >>> out = batched_negative_sampling(edge_index, batch)  # [2, 8]
    """
    num_neg_samples = check_common(
        edge_index, num_neg_samples, method, force_undirected, generator
    )
    if isinstance(batch, Tensor):
        batches, names, bipartite = [batch], ['batch'], False
    elif isinstance(batch, (tuple, list)) and len(batch) == 2:
        batches, names, bipartite = list(batch), ['batch[0]', 'batch[1]'], True
    else:
        raise TypeError(
            f"'batch' must be a tensor or a pair of tensors "
            f'(got {type(batch).__name__})'
        )
    num_graphs = 0
    for b, name in zip(batches, names):
        num_graphs = max(num_graphs, check_batch_vector(b, name))
        check_same_device(b, name, edge_index.device, "'edge_index'")
    src_batch, dst_batch = batches[0].long(), batches[-1].long()
    check_edge_ids(
        edge_index, 'edge_index', src_batch.numel(), dst_batch.numel()
    )
    graph = src_batch[edge_index[0].long()]
    other = dst_batch[edge_index[1].long()]
    if bool((graph != other).any()):
        j = int((graph != other).nonzero()[0, 0])
        raise ValueError(
            f"'edge_index' column {j} joins graph {int(graph[j])} to graph "
            f'{int(other[j])} (every edge must join two nodes of one graph)'
        )
    empty = edge_index.new_empty((2, 0))
    if num_graphs == 0:
        return empty
    kind = kind_of(bipartite, force_undirected)
    space = KeySpace.of_sizes(
        kind,
        torch.bincount(src_batch, minlength=num_graphs),
        torch.bincount(dst_batch, minlength=num_graphs),
    )
    num_edges = torch.bincount(graph, minlength=num_graphs)
    if num_neg_samples is None:
        num = num_edges
    elif isinstance(num_neg_samples, float):
        num = (num_neg_samples * num_edges.double()).clamp_(max=UNBOUNDED)
        num = num.long()
    else:
        num = torch.full_like(num_edges, min(num_neg_samples, UNBOUNDED))
    if kind == UNDIRECTED:
        num = num // 2
    # Float64 sums: counts near 2**62 would overflow an int64 sum.
    asked, fits = torch.stack(
        [num.double().sum(), torch.minimum(num, space.size).double().sum()]
    ).tolist()
    check_pairs_fit(int(fits), kind, edge_index.device)
    if asked == 0:
        return empty
    forbidden = space.forbidden(edge_index, graph)
    key, drawn = exact_keys(space, forbidden, num, generator)
    if bool((drawn < num).any()):
        short = int((drawn < num).sum())
        warn_short(
            'batched_negative_sampling',
            int(asked),
            int(drawn.sum()),
            f' (short in {short} graph(s))',
        )
    row, col = space.decode(key)
    return layout(kind, row, col, drawn).to(edge_index.dtype)


def _structured_index(
    edge_index: Tensor,
    num_nodes: NumNodes,
    contains_neg_self_loops: bool,
    index,
) -> Tuple[Optional[PositiveIndex], int]:
    r"""The index of the positives (:obj:`None` when there is no edge) and
    the number of destination nodes, the arguments checked."""
    check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
    check_bool(contains_neg_self_loops, 'contains_neg_self_loops')
    index = check_index(index, edge_index)
    num_src, num_dst, bipartite = resolve_sizes(edge_index, num_nodes, index)
    exclude_self = not bipartite and not contains_neg_self_loops
    if index is not None:
        if index.exclude_self != exclude_self:
            raise ValueError(
                f"'index' must be built with exclude_self={exclude_self} "
                f'here (contains_neg_self_loops={contains_neg_self_loops}, '
                f'{"bipartite" if bipartite else "homogeneous"} graph) '
                f'(got {index!r})'
            )
        # The index vouches for the sizes; the ids are still checked:
        check_edge_ids(edge_index, 'edge_index', num_src, num_dst)
        return index, num_dst
    if edge_index.numel() == 0:
        return None, num_dst
    index = PositiveIndex(
        edge_index, num_src, num_dst, exclude_self=exclude_self
    )
    return index, num_dst


def structured_negative_sampling(
    edge_index: Tensor,
    num_nodes: NumNodes = None,
    contains_neg_self_loops: bool = True,
    *,
    num_neg_samples: int = 1,
    generator: Optional[torch.Generator] = None,
    index: Optional[PositiveIndex] = None,
) -> Tuple[Tensor, Tensor, Tensor]:
    r"""Samples a negative edge :obj:`(i, k)` for every positive edge
    :obj:`(i, j)` of :obj:`edge_index`, returned as :obj:`(i, j, k)`: a
    drop-in for :func:`torch_geometric.utils.structured_negative_sampling`
    (the triplets of BPR, Rendle et al., UAI 2009).

    :obj:`k` is uniform over the nodes that are not positives of :obj:`i`,
    drawn exactly and without rejection
    (:meth:`~torch_geometric_negsamp.PositiveIndex.sample_complement`), so a
    high-degree node costs no more than any other. Where PyG loops forever
    because a node is connected to every node, this raises a
    :class:`ValueError` naming the node.

    Args:
        edge_index (torch.Tensor): The edge indices, shape ``[2, E]``.
        num_nodes (int or Tuple[int, int], optional): The number of nodes, or
            :obj:`(num_src_nodes, num_dst_nodes)` for a bipartite graph
            (:obj:`k` then indexes destination nodes). If :obj:`None`,
            :obj:`max_val + 1` of :obj:`edge_index` (or the sizes of
            :obj:`index`). (default: :obj:`None`)
        contains_neg_self_loops (bool, optional): If :obj:`False`, :obj:`k`
            is never :obj:`i`. Ignored for bipartite graphs.
            (default: :obj:`True`)
        num_neg_samples (int, optional): Negatives per positive, drawn
            independently (with replacement). (default: :obj:`1`)
        generator (torch.Generator, optional): The random generator.
            (default: :obj:`None`)
        index (PositiveIndex, optional): A prebuilt index of the positives
            (built with :obj:`exclude_self=not contains_neg_self_loops` for a
            homogeneous graph), reused instead of indexing
            :obj:`edge_index`; it may hold further positives to avoid.
            (default: :obj:`None`)

    Returns:
        (torch.Tensor, torch.Tensor, torch.Tensor): :obj:`edge_index[0]`,
        :obj:`edge_index[1]` (both ``[E]``) and :obj:`k`, ``[E]`` if
        :obj:`num_neg_samples == 1` else ``[E, num_neg_samples]``, int64.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an id is negative or out of range, the output would
            not fit in memory, :obj:`index` does not match the call, or a
            source node has no negative.

    Example:
        >>> edge_index = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
        >>> i, j, k = structured_negative_sampling(edge_index,
        ...                                        num_neg_samples=2)
        >>> k.shape
        torch.Size([4, 2])
    """
    check_index_tensor(edge_index, 'edge_index', dim=2, rows=2)
    num_neg_samples = check_positive_int(num_neg_samples, 'num_neg_samples')
    check_generator(generator)
    check_request_size(
        edge_index.size(1) * num_neg_samples,
        'num_neg_samples',
        device=edge_index.device,
    )
    index, num_dst = _structured_index(
        edge_index, num_nodes, contains_neg_self_loops, index
    )
    shape = (-1,) if num_neg_samples == 1 else (-1, num_neg_samples)
    if index is None or edge_index.size(1) == 0:
        k = torch.empty(0, dtype=torch.long, device=edge_index.device)
        return edge_index[0], edge_index[1], k.view(shape)
    src = edge_index[0].long()
    start, end = index.row_bounds_unchecked(src)
    count = num_dst - (end - start)
    if bool((count <= 0).any()):
        node = int(src[count <= 0][0])
        loops = (
            ''
            if contains_neg_self_loops or num_dst != index.num_src_nodes
            else ' and self-loops are excluded'
        )
        raise ValueError(
            f'node {node} is connected to all {num_dst} nodes{loops}, so it '
            f'has no negative: structured negative sampling is infeasible on '
            f"this graph (see 'structured_negative_sampling_feasible')"
        )
    if num_neg_samples > 1:
        src, start, count = (
            t.view(-1, 1).expand(-1, num_neg_samples).contiguous()
            for t in (src, start, count)
        )
    k = index.complement_select_unchecked(
        src, randint_below(count, generator), start
    )
    return edge_index[0], edge_index[1], k.view(shape)


def structured_negative_sampling_feasible(
    edge_index: Tensor,
    num_nodes: NumNodes = None,
    contains_neg_self_loops: bool = True,
    *,
    index: Optional[PositiveIndex] = None,
) -> bool:
    r"""Returns :obj:`True` if :func:`structured_negative_sampling` can run
    on :obj:`edge_index`, i.e. no source node is connected to every node it
    could be paired with: a drop-in for
    :func:`torch_geometric.utils.structured_negative_sampling_feasible`.

    It answers for the source nodes of :obj:`edge_index` (those that need a
    negative); PyG's version also fails a graph whose only node has no edge
    when self-loops are excluded.

    Args:
        edge_index (torch.Tensor): The edge indices, shape ``[2, E]``.
        num_nodes (int or Tuple[int, int], optional): The number of nodes, or
            :obj:`(num_src_nodes, num_dst_nodes)` for a bipartite graph.
            (default: :obj:`None`)
        contains_neg_self_loops (bool, optional): If :obj:`False`, a node is
            not its own negative. (default: :obj:`True`)
        index (PositiveIndex, optional): A prebuilt index of the positives,
            as for :func:`structured_negative_sampling`.
            (default: :obj:`None`)

    :rtype: bool

    Example:
        >>> edge_index = torch.tensor([[0, 0, 1, 1, 2, 2, 2],
        ...                            [1, 2, 0, 2, 0, 1, 1]])
        >>> structured_negative_sampling_feasible(edge_index, 3, False)
        False
        >>> structured_negative_sampling_feasible(edge_index, 3, True)
        True
    """
    index, _ = _structured_index(
        edge_index, num_nodes, contains_neg_self_loops, index
    )
    if index is None or edge_index.size(1) == 0:
        return True
    src = edge_index[0].long()
    return bool((index.num_candidates(src) > 0).all())
