r"""The choice of the neighbour-sampling backend, per request."""

from typing import Optional, Union

import torch_geometric.typing
from torch_geometric.sampler.base import SubgraphType

from torch_geometric_negsamp._validate import check_bool

#: The settings of a neighbour-sampling request that decide its backend:
#: the keyword arguments of :func:`neighbor_backend`.
BACKEND_SETTINGS = (
    'disjoint',
    'time_attr',
    'weight_attr',
    'subgraph_type',
    'directed',
)


def neighbor_backend(
    *,
    disjoint: bool = False,
    time_attr: Optional[str] = None,
    weight_attr: Optional[str] = None,
    subgraph_type: Union[SubgraphType, str] = 'directional',
    directed: bool = True,
) -> str:
    r"""Returns the neighbour-sampling backend that serves a request:
    :obj:`"pyg-lib"` or :obj:`"torch-sparse"` (PyG's compiled samplers,
    through :class:`~torch_geometric_negsamp.sampler.SeedAwareNeighborSampler`)
    or :obj:`"torch"` (the pure-PyTorch
    :class:`~torch_geometric_negsamp.sampler.SeedAwareTorchNeighborSampler`).

    The choice is made per request, from what each installed backend
    supports (PyG 2.8), compiled ones first:

    * :obj:`pyg-lib` serves everything but induced subgraphs;
    * :obj:`torch-sparse` serves plain and induced subgraphs, but neither
      :obj:`disjoint`, temporal (:obj:`time_attr`) nor weighted
      (:obj:`weight_attr`) sampling;
    * the pure-PyTorch backend serves directional and bidirectional
      subgraphs, :obj:`disjoint` or not, but neither temporal nor weighted
      sampling nor induced subgraphs.

    So with :obj:`torch-sparse` alone, a :obj:`disjoint` request goes to the
    pure-PyTorch backend and the others to :obj:`torch-sparse`.

    Args:
        disjoint (bool, optional): Every seed gets its own subgraph.
            (default: :obj:`False`)
        time_attr (str, optional): The time attribute of temporal sampling.
            (default: :obj:`None`)
        weight_attr (str, optional): The edge weights of weighted sampling.
            (default: :obj:`None`)
        subgraph_type (str, optional): :obj:`"directional"`,
            :obj:`"bidirectional"` or :obj:`"induced"`.
            (default: :obj:`"directional"`)
        directed (bool, optional): PyG's deprecated flag; :obj:`False`
            means :obj:`subgraph_type="induced"`. (default: :obj:`True`)

    Raises:
        NotImplementedError: If no installed backend serves the request.
    """
    check_bool(disjoint, 'disjoint')
    check_bool(directed, 'directed')
    try:
        kind = SubgraphType(subgraph_type)
    except ValueError:
        raise ValueError(
            f"'subgraph_type' must be one of 'directional', "
            f"'bidirectional', 'induced' (got {subgraph_type!r})"
        ) from None
    induced = not directed or kind == SubgraphType.induced
    temporal, weighted = time_attr is not None, weight_attr is not None
    with_pyg_lib = torch_geometric.typing.WITH_PYG_LIB
    with_torch_sparse = torch_geometric.typing.WITH_TORCH_SPARSE
    if with_pyg_lib and not induced:
        return 'pyg-lib'
    if with_torch_sparse and not (disjoint or temporal or weighted):
        return 'torch-sparse'
    if not (induced or temporal or weighted):
        return 'torch'
    needs = []
    if temporal:
        needs.append(f"time_attr={time_attr!r} needs 'pyg-lib'")
    if weighted:
        needs.append(f"weight_attr={weight_attr!r} needs 'pyg-lib'")
    if induced:
        needs.append(
            "induced subgraphs need 'torch-sparse' and neither 'disjoint' "
            'nor temporal nor weighted sampling'
        )
    installed = [
        name
        for name, present in (
            ('pyg-lib', with_pyg_lib),
            ('torch-sparse', with_torch_sparse),
        )
        if present
    ]
    raise NotImplementedError(
        f'no neighbour-sampling backend serves this request: '
        f'{"; ".join(needs)} (installed: '
        f'{", ".join(installed) or "neither pyg-lib nor torch-sparse"})'
    )
