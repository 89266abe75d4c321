import inspect

import pytest
import torch_geometric.typing

from torch_geometric_negsamp.sampler import neighbor_backend
from torch_geometric_negsamp.sampler.neighbor_backend import BACKEND_SETTINGS

INDUCED = {'subgraph_type': 'induced'}
TEMPORAL = {'time_attr': 'time'}
WEIGHTED = {'weight_attr': 'weight'}
DISJOINT = {'disjoint': True}


@pytest.mark.parametrize(
    'pyg_lib,torch_sparse,request_,expected',
    [
        # Nothing compiled: the pure-PyTorch backend, disjoint or not.
        (False, False, {}, 'torch'),
        (False, False, DISJOINT, 'torch'),
        (False, False, {'subgraph_type': 'bidirectional'}, 'torch'),
        # torch-sparse alone: compiled where it can, ours for disjoint.
        (False, True, {}, 'torch-sparse'),
        (False, True, {'subgraph_type': 'bidirectional'}, 'torch-sparse'),
        (False, True, DISJOINT, 'torch'),
        (False, True, INDUCED, 'torch-sparse'),
        (False, True, {'directed': False}, 'torch-sparse'),
        # pyg-lib: everything but induced subgraphs.
        (True, False, {}, 'pyg-lib'),
        (True, False, DISJOINT, 'pyg-lib'),
        (True, False, TEMPORAL, 'pyg-lib'),
        (True, False, WEIGHTED, 'pyg-lib'),
        (True, True, DISJOINT, 'pyg-lib'),
        (True, True, INDUCED, 'torch-sparse'),
    ],
)
def test_rule(installed, pyg_lib, torch_sparse, request_, expected):
    installed(pyg_lib, torch_sparse)
    assert neighbor_backend(**request_) == expected


@pytest.mark.parametrize(
    'pyg_lib,torch_sparse,request_,match',
    [
        (False, False, TEMPORAL, "time_attr='time' needs 'pyg-lib'"),
        (False, True, TEMPORAL, "time_attr='time' needs 'pyg-lib'"),
        (False, True, WEIGHTED, "weight_attr='weight' needs 'pyg-lib'"),
        (False, False, INDUCED, "induced subgraphs need 'torch-sparse'"),
        (False, True, {**INDUCED, **DISJOINT}, "and neither 'disjoint'"),
        (True, True, {**INDUCED, **DISJOINT}, "and neither 'disjoint'"),
        (True, False, INDUCED, r'installed: pyg-lib\)'),
    ],
)
def test_unserved_requests_raise(
    installed, pyg_lib, torch_sparse, request_, match
):
    installed(pyg_lib, torch_sparse)
    with pytest.raises(NotImplementedError, match=match):
        neighbor_backend(**request_)


def test_nothing_installed_is_named(installed):
    installed(False, False)
    with pytest.raises(
        NotImplementedError, match='neither pyg-lib nor torch-sparse'
    ):
        neighbor_backend(**WEIGHTED)


def test_matches_the_installation():
    # Without the monkeypatch: what this environment really has.
    expected = (
        'pyg-lib'
        if torch_geometric.typing.WITH_PYG_LIB
        else 'torch-sparse'
        if torch_geometric.typing.WITH_TORCH_SPARSE
        else 'torch'
    )
    assert neighbor_backend() == expected
    assert neighbor_backend(disjoint=True) == (
        'pyg-lib' if expected == 'pyg-lib' else 'torch'
    )


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="'disjoint' must be a bool"):
        neighbor_backend(disjoint='no')
    with pytest.raises(TypeError, match="'directed' must be a bool"):
        neighbor_backend(directed=1)
    with pytest.raises(ValueError, match="'subgraph_type' must be one of"):
        neighbor_backend(subgraph_type='sideways')


def test_backend_settings_are_the_keywords_of_neighbor_backend():
    params = inspect.signature(neighbor_backend).parameters
    assert list(BACKEND_SETTINGS) == list(params)
