r"""Every raise path of the drop-in negative sampling functions, and the
regressions of issue 8 (ids, meta tensors, oversized requests, flags and
floats)."""

import importlib

import pytest
import torch
from negsamp_cases import EDGE_INDEX, gen

from torch_geometric_negsamp import PositiveIndex
from torch_geometric_negsamp.utils import (
    batched_negative_sampling,
    negative_sampling,
    structured_negative_sampling,
    structured_negative_sampling_feasible,
)

# The package's attribute 'negative_sampling' is the function (as in PyG):
SOURCE = importlib.import_module(
    'torch_geometric_negsamp.utils.negative_sampling'
)
BATCH = torch.tensor([0, 0, 0, 0])
STRUCTURED = [
    structured_negative_sampling,
    structured_negative_sampling_feasible,
]


def _index(*args, **kwargs):
    return PositiveIndex(EDGE_INDEX, *args, **kwargs)


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(edge_index=[[0], [1]]), TypeError, "'edge_index' must be a to"),
        (
            dict(edge_index=EDGE_INDEX.float()),
            TypeError,
            "'edge_index' must h",
        ),
        (
            dict(edge_index=torch.zeros(3, 2, dtype=torch.long)),
            ValueError,
            r"'edge_index' must have shape \[2, \*\]",
        ),
        (
            dict(edge_index=torch.zeros(4, dtype=torch.long)),
            ValueError,
            "'edge_index' must have 2 dimension",
        ),
        (
            dict(num_neg_samples=True),
            TypeError,
            "'num_neg_samples' must be an",
        ),
        (dict(num_neg_samples='4'), TypeError, "'num_neg_samples' must be an"),
        (
            dict(num_neg_samples=-1),
            ValueError,
            "'num_neg_samples' must be non",
        ),
        (
            dict(num_neg_samples=-0.5),
            ValueError,
            "'num_neg_samples' must be n",
        ),
        (dict(num_neg_samples=float('nan')), ValueError, 'must be finite'),
        (dict(num_neg_samples=float('inf')), ValueError, 'must be finite'),
        (dict(method='fast'), ValueError, "'method' must be one of 'sparse'"),
        (
            dict(force_undirected=1),
            TypeError,
            "'force_undirected' must be a b",
        ),
        (dict(force_undirected='no'), TypeError, "'force_undirected' must be"),
        (
            dict(generator=0),
            TypeError,
            "'generator' must be a torch.Generator",
        ),
        (dict(index=EDGE_INDEX), TypeError, "'index' must be a PositiveIndex"),
        (dict(num_nodes='4'), TypeError, "'num_nodes' must be an int"),
        (dict(num_nodes=4.0), TypeError, "'num_nodes' must be an int"),
        (dict(num_nodes=-1), ValueError, "'num_nodes' must be non-negative"),
        (
            dict(num_nodes=(3, 4, 5)),
            ValueError,
            "'num_nodes' must be an int o",
        ),
        (
            dict(num_nodes=(3, '4')),
            TypeError,
            r"'num_nodes\[1\]' must be an i",
        ),
        (dict(num_nodes=2**40), ValueError, 'too large for 64-bit'),
        (dict(num_nodes=2**60), ValueError, "'num_nodes' must be at most"),
        (
            dict(num_nodes=3),
            ValueError,
            r"'edge_index\[1\]' holds node index 3",
        ),
        (dict(num_nodes=(2, 4)), ValueError, r"'edge_index\[0\]' holds node"),
        (
            dict(index=_index(5, exclude_self=True)),
            ValueError,
            "'index' was built for 5 x 5 nodes but 'num_nodes' gives 4 x 4",
        ),
        (
            dict(index=_index(4)),
            ValueError,
            "needs an 'index' built with exclude_self=True",
        ),
        (
            dict(index=_index(4, exclude_self=True), force_undirected=True),
            ValueError,
            'built with undirected=True',
        ),
        (
            dict(index=_index(4, exclude_self=True), num_nodes=(4, 4)),
            ValueError,
            "a bipartite 'num_nodes' needs",
        ),
        (
            dict(index=_index(4, 4, undirected=True), num_nodes=(4, 4)),
            ValueError,
            "a bipartite 'num_nodes' needs",
        ),
    ],
)
def test_negative_sampling_raises(kwargs, error, match):
    kwargs = dict(kwargs)
    edge_index = kwargs.pop('edge_index', EDGE_INDEX)
    if isinstance(kwargs.get('index'), PositiveIndex):
        kwargs.setdefault('num_nodes', 4)
    with pytest.raises(error, match=match):
        negative_sampling(edge_index, **kwargs)


# ------------------------------------------------ issue 8, finding 3
@pytest.mark.parametrize('row', [0, 1])
def test_issue8_finding3_negative_ids_are_refused_with_inferred_num_nodes(
    row,
):
    # An edge (1, -1) used to be read as another pair when num_nodes was
    # inferred from the ids.
    edge_index = torch.tensor([[0, 1], [2, 1]])
    edge_index[row, 1] = -1
    match = rf"'edge_index\[{row}\]' holds node index -1"
    with pytest.raises(ValueError, match=match):
        negative_sampling(edge_index)
    with pytest.raises(ValueError, match=match):
        negative_sampling(edge_index, 4)
    for func in STRUCTURED:
        with pytest.raises(ValueError, match=match):
            func(edge_index)
    with pytest.raises(ValueError, match=match):
        batched_negative_sampling(edge_index, BATCH)


def test_inferred_num_nodes_must_fit_the_pair_keys():
    edge_index = torch.tensor([[0], [2**40]])
    with pytest.raises(ValueError, match="'num_nodes' is too large for 64"):
        negative_sampling(edge_index)


# ------------------------------------------------------ meta tensors
def test_meta_tensors_get_a_clear_error():
    meta = EDGE_INDEX.to('meta')
    with pytest.raises(ValueError, match="'edge_index' is on meta"):
        negative_sampling(meta)
    with pytest.raises(ValueError, match="'edge_index' is on meta"):
        batched_negative_sampling(meta, BATCH)
    for func in STRUCTURED:
        with pytest.raises(ValueError, match="'edge_index' is on meta"):
            func(meta)
    with pytest.raises(ValueError, match="'batch' is on meta"):
        batched_negative_sampling(EDGE_INDEX, BATCH.to('meta'))
    index = _index(4, exclude_self=True).to('meta')
    with pytest.raises(ValueError, match="'index' is on meta"):
        negative_sampling(EDGE_INDEX, 4, index=index)
    with pytest.raises(ValueError, match="'index' is on meta"):
        structured_negative_sampling(EDGE_INDEX, 4, False, index=index)


# ----------------------------------------------- oversized requests
@pytest.mark.parametrize(
    'num_nodes,num,undirected',
    [
        ((2**26, 2**26), 10**15, False),
        (2**26, 10**15, False),
        (2**26, 10**15, True),
        (2**26, 2**70, False),
        (2**26, 1e300, False),
    ],
)
def test_oversized_requests_are_refused_before_drawing(
    monkeypatch, num_nodes, num, undirected
):
    def fail(*args, **kwargs):
        raise AssertionError('drew before refusing')

    monkeypatch.setattr(SOURCE, 'draw_single', fail)
    with pytest.raises(ValueError, match=r"'num_neg_samples' asks .* GiB"):
        negative_sampling(
            EDGE_INDEX, num_nodes, num, force_undirected=undirected
        )


def test_oversized_batched_and_structured_requests_are_refused():
    edge_index = torch.tensor([[0, 1], [1, 2]])
    batch = torch.zeros(2**18, dtype=torch.long)  # 2**36 candidate pairs
    with pytest.raises(ValueError, match=r"'num_neg_samples' asks .* GiB"):
        batched_negative_sampling(edge_index, batch, 10**15)
    with pytest.raises(ValueError, match=r"'num_neg_samples' asks .* GiB"):
        batched_negative_sampling(edge_index, batch, 1e300)
    with pytest.raises(ValueError, match=r"'num_neg_samples' asks .* GiB"):
        structured_negative_sampling(edge_index, num_neg_samples=10**15)


@pytest.mark.parametrize('num', [10**18, 2**70, 1e300])
def test_requests_beyond_the_non_edges_return_all_of_them(num):
    # A huge request on a small graph fits: every non-edge, and a warning.
    with pytest.warns(UserWarning, match='only 9 non-edge'):
        out = negative_sampling(EDGE_INDEX, num_neg_samples=num)
    assert out.size(1) == 9
    with pytest.warns(UserWarning, match='only 9 non-edge'):
        out = batched_negative_sampling(EDGE_INDEX, BATCH, num)
    assert out.size(1) == 9


# ------------------------------------------------------------ batched
@pytest.mark.parametrize(
    'edge_index,batch,kwargs,error,match',
    [
        (EDGE_INDEX, [0, 0, 0, 0], {}, TypeError, "'batch' must be a tensor"),
        (EDGE_INDEX, (BATCH,) * 3, {}, TypeError, "'batch' must be a"),
        (EDGE_INDEX, BATCH.float(), {}, TypeError, "'batch' must hold intege"),
        (
            EDGE_INDEX,
            (BATCH, BATCH.view(2, 2)),
            {},
            ValueError,
            r"'batch\[1\]' must have 1 dimension",
        ),
        (
            EDGE_INDEX,
            torch.tensor([0, 1, 0, 1]),
            {},
            ValueError,
            "'batch' must be sorted",
        ),
        (
            EDGE_INDEX,
            torch.tensor([-1, 0, 0, 0]),
            {},
            ValueError,
            r"'batch' must hold non-negative graph ids \(got -1\)",
        ),
        (
            EDGE_INDEX,
            torch.tensor([0, 0, 0]),
            {},
            ValueError,
            r"'edge_index\[1\]' holds node index 3, out of range for 3",
        ),
        (
            EDGE_INDEX,
            torch.tensor([0, 0, 1, 1]),
            {},
            ValueError,
            "'edge_index' column 2 joins graph 0 to graph 1",
        ),
        (
            EDGE_INDEX,
            BATCH,
            dict(num_neg_samples=-2),
            ValueError,
            "'num_neg_samples' must be non-negative",
        ),
        (
            EDGE_INDEX,
            BATCH,
            dict(num_neg_samples=float('nan')),
            ValueError,
            "'num_neg_samples' must be finite",
        ),
        (EDGE_INDEX, BATCH, dict(method='x'), ValueError, "'method' must be"),
        (
            EDGE_INDEX,
            BATCH,
            dict(force_undirected=None),
            TypeError,
            "'force_undirected' must be a bool",
        ),
        (
            EDGE_INDEX,
            BATCH,
            dict(generator='g'),
            TypeError,
            "'generator' must be a torch.Generator",
        ),
        (EDGE_INDEX[0], BATCH, {}, ValueError, "'edge_index' must have 2 dim"),
    ],
)
def test_batched_raises(edge_index, batch, kwargs, error, match):
    with pytest.raises(error, match=match):
        batched_negative_sampling(edge_index, batch, **kwargs)


# --------------------------------------------------------- structured
@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (
            dict(contains_neg_self_loops=0),
            TypeError,
            "'contains_neg_self_loops' must be a bool",
        ),
        (
            dict(contains_neg_self_loops='no'),
            TypeError,
            "'contains_neg_self_loops' must be a bool",
        ),
        (
            dict(num_neg_samples=0),
            ValueError,
            "'num_neg_samples' must be a positive integer",
        ),
        (
            dict(num_neg_samples=1.5),
            TypeError,
            "'num_neg_samples' must be an int",
        ),
        (dict(generator=1), TypeError, "'generator' must be a torch.Gener"),
        (dict(index='x'), TypeError, "'index' must be a PositiveIndex"),
        (
            dict(num_nodes=(2, 4)),
            ValueError,
            r"'edge_index\[0\]' holds node index 2",
        ),
        (dict(num_nodes=[4]), ValueError, "'num_nodes' must be an int or a"),
        (
            dict(index=_index(4), contains_neg_self_loops=False),
            ValueError,
            "'index' must be built with exclude_self=True",
        ),
        (
            dict(index=_index(4, exclude_self=True)),
            ValueError,
            "'index' must be built with exclude_self=False",
        ),
        (
            dict(index=_index(4), num_nodes=6),
            ValueError,
            "'index' was built for 4 x 4 nodes",
        ),
    ],
)
def test_structured_raises(kwargs, error, match):
    with pytest.raises(error, match=match):
        structured_negative_sampling(EDGE_INDEX, **kwargs)
    if 'num_neg_samples' not in kwargs and 'generator' not in kwargs:
        with pytest.raises(error, match=match):
            structured_negative_sampling_feasible(EDGE_INDEX, **kwargs)


def test_structured_with_an_index_checks_the_ids_it_reads():
    index = _index(4)
    bad = torch.tensor([[0, 4], [1, 2]])
    for func in STRUCTURED:
        with pytest.raises(ValueError, match=r"'edge_index\[0\]' holds node"):
            func(bad, index=index)
    _, _, k = structured_negative_sampling(
        EDGE_INDEX, index=index, generator=gen()
    )
    assert k.shape == (4,)
