import math

import numpy as np
import pytest
import torch

from torch_geometric_negsamp._validate import (
    check_bool,
    check_choice,
    check_float_tensor,
    check_generator,
    check_in_range,
    check_index_tensor,
    check_instance,
    check_int,
    check_keys_known,
    check_like,
    check_num_nodes,
    check_probability,
    check_real,
    check_request_size,
    check_returned,
    check_same_device,
    check_same_shape,
    check_seed,
    check_sparse_adjacency,
    check_tensor,
    check_user_item_index,
)


def test_bool_refuses_truthy_values():
    assert check_bool(False, 'flag') is False
    for bad in ('no', 1, None, np.bool_(True)):
        with pytest.raises(TypeError, match="'flag' must be a bool"):
            check_bool(bad, 'flag')


def test_int_accepts_integers_of_every_kind_and_bounds_them():
    assert check_int(np.int64(3), 'n') == 3
    assert check_int(torch.tensor(4), 'n') == 4
    assert check_int(0, 'n', minimum=0) == 0
    with pytest.raises(TypeError, match="'n' must be an int"):
        check_int(True, 'n')
    with pytest.raises(TypeError, match="'n' must be an int"):
        check_int(2.0, 'n')
    with pytest.raises(TypeError, match="'n' must be an int"):
        check_int(torch.tensor(2.0), 'n')
    with pytest.raises(ValueError, match="'n' must be a positive integer"):
        check_int(0, 'n', minimum=1)
    with pytest.raises(ValueError, match="'n' must be non-negative"):
        check_int(-1, 'n', minimum=0)
    with pytest.raises(ValueError, match="'n' must be >= 3"):
        check_int(2, 'n', minimum=3)
    with pytest.raises(ValueError, match="'n' must be at most 5"):
        check_int(6, 'n', maximum=5)
    with pytest.raises(ValueError, match="'num' must be at most"):
        check_num_nodes(2**53 + 1, 'num')


def test_real_is_finite_and_in_its_interval():
    assert check_real(2, 'x') == 2.0
    assert check_real(torch.tensor(0.5), 'x') == 0.5
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="'x' must be finite"):
            check_real(bad, 'x')
    with pytest.raises(ValueError, match="'x' must be finite"):
        check_real(10**400, 'x')
    with pytest.raises(TypeError, match="'x' must be a float"):
        check_real('1', 'x')
    with pytest.raises(TypeError, match="'x' must be a float"):
        check_real(True, 'x')
    with pytest.raises(ValueError, match="'x' must be positive"):
        check_real(0.0, 'x', minimum=0.0, open_min=True)
    with pytest.raises(ValueError, match="'x' must be non-negative"):
        check_real(-0.1, 'x', minimum=0.0)
    with pytest.raises(ValueError, match=r"'x' must be in \[0, 1\)"):
        check_probability(1.0, 'x', allow_one=False)
    assert check_probability(1.0, 'x') == 1.0
    with pytest.raises(ValueError, match=r"'x' must be in \(-inf, 2\]"):
        check_real(3.0, 'x', maximum=2.0)


def test_choice_seed_generator():
    assert check_choice('a', 'mode', ('a', 'b')) == 'a'
    with pytest.raises(ValueError, match="'mode' must be one of 'a', 'b'"):
        check_choice('c', 'mode', ('a', 'b'))
    assert check_seed(2**64 - 1) == 2**64 - 1
    with pytest.raises(ValueError, match="'seed' must be at most"):
        check_seed(2**70)
    with pytest.raises(ValueError, match="'seed' must be >= "):
        check_seed(-(2**70))
    gen = torch.Generator()
    assert check_generator(gen) is gen and check_generator(None) is None
    with pytest.raises(TypeError, match="'generator' must be a torch.Gen"):
        check_generator(3)


def test_tensors():
    with pytest.raises(TypeError, match="'t' must be a torch.Tensor"):
        check_tensor([1], 't')
    with pytest.raises(ValueError, match="'t' is on meta"):
        check_tensor(torch.empty(2, device='meta'), 't')
    with pytest.raises(TypeError, match="'t' must be a dense tensor"):
        check_tensor(torch.eye(2).to_sparse(), 't')
    with pytest.raises(TypeError, match="'t' must hold integer ids"):
        check_index_tensor(torch.tensor([True]), 't')
    with pytest.raises(ValueError, match="'t' must have 2 dimension"):
        check_index_tensor(torch.tensor([1]), 't', dim=2)
    with pytest.raises(ValueError, match=r"'t' must have shape \[2, \*\]"):
        check_index_tensor(torch.zeros(3, 1, dtype=torch.long), 't', rows=2)
    with pytest.raises(TypeError, match="'s' must be a floating-point"):
        check_float_tensor(torch.tensor([1]), 's')
    with pytest.raises(ValueError, match="'s' must be finite .*nan"):
        check_float_tensor(torch.tensor([1.0, math.nan]), 's')
    assert check_float_tensor(torch.tensor([math.inf]), 's', finite=False)
    check_in_range(torch.empty(0, dtype=torch.long), 'x', 0)
    with pytest.raises(ValueError, match="'x' holds node index -1, out of"):
        check_in_range(torch.tensor([-1, 0]), 'x', 2)
    with pytest.raises(ValueError, match="'x' holds user id 2, out of range"):
        check_in_range(torch.tensor([2]), 'x', 2, what='user id', unit='u')
    with pytest.raises(ValueError, match="'x' is on cpu but the index is"):
        check_same_device(torch.zeros(1), 'x', 'meta', 'the index')


def test_user_item_index():
    out = check_user_item_index(
        torch.tensor([[0, 1], [2, 0]], dtype=torch.int32), 'ix', 2, 3
    )
    assert out.dtype == torch.long
    with pytest.raises(ValueError, match=r"'ix' must have shape \[2, E\]"):
        check_user_item_index(torch.zeros(3), 'ix', 2, 3)
    with pytest.raises(ValueError, match=r"'ix' holds user ids in \[0, 2\]"):
        check_user_item_index(torch.tensor([[0, 2], [0, 0]]), 'ix', 2, 3)
    with pytest.raises(ValueError, match=r"'ix' holds item ids in \[-1, 0\]"):
        check_user_item_index(torch.tensor([[0, 0], [-1, 0]]), 'ix', 2, 3)


def test_sparse_adjacency():
    adj = torch.eye(3).to_sparse_csr()
    assert check_sparse_adjacency(adj, 'adj', 3) is adj
    with pytest.raises(TypeError, match="'adj' must be a sparse"):
        check_sparse_adjacency([1], 'adj')
    with pytest.raises(TypeError, match="'adj' must have layout"):
        check_sparse_adjacency(torch.eye(3), 'adj')
    with pytest.raises(ValueError, match="'adj' must be a square"):
        check_sparse_adjacency(torch.ones(2, 3).to_sparse_csr(), 'adj')
    with pytest.raises(ValueError, match=r"'adj' must have shape \[4, 4\]"):
        check_sparse_adjacency(adj, 'adj', 4)
    grad = torch.eye(2).to_sparse_csr().requires_grad_()
    with pytest.raises(ValueError, match="'adj' must not require grad"):
        check_sparse_adjacency(grad, 'adj')


def test_request_size_is_refused_before_allocating():
    check_request_size(10, 'n')
    with pytest.raises(ValueError, match=r"'n' asks for .* GiB\), more than"):
        check_request_size(10**15, 'n')


def test_keys_known():
    check_keys_known([('a', 'b', 'c')], 'w', [('a', 'b', 'c')])
    with pytest.raises(ValueError, match="'w' has a key 'x' that is not"):
        check_keys_known(['x'], 'w', [('a', 'b', 'c')])


def test_check_node_counts():
    from torch_geometric_negsamp._validate import check_node_counts

    assert check_node_counts(5) == (False, 5, 5)
    assert check_node_counts((3, 4)) == (True, 3, 4)
    assert check_node_counts([3, 4], 'sizes') == (True, 3, 4)
    with pytest.raises(ValueError, match="'num_nodes' must be an int or a"):
        check_node_counts((1, 2, 3))
    with pytest.raises(ValueError, match=r"'sizes\[1\]' must be a positive"):
        check_node_counts((1, 0), 'sizes')
    assert check_node_counts((1, 0), minimum=0) == (True, 1, 0)
    with pytest.raises(ValueError, match=r"'num_nodes' must be non-neg"):
        check_node_counts(-1, minimum=0)
    with pytest.raises(TypeError, match="'num_nodes' must be an int"):
        check_node_counts(2.0)


def test_sparse_adjacency_may_be_rectangular():
    rect = torch.ones(2, 3).to_sparse_csr()
    assert check_sparse_adjacency(rect, 'a', square=False) is rect
    with pytest.raises(ValueError, match="'a' must be 2-dimensional"):
        check_sparse_adjacency(
            torch.ones(2, 2, 2).to_sparse(),
            'a',
            layouts=(torch.sparse_coo,),
            square=False,
        )


def test_instance_says_what_it_expects():
    assert check_instance(3, 'n', int) == 3
    assert check_instance(None, 'n', int, optional=True) is None
    with pytest.raises(TypeError, match=r"^'n' must be a int \(got str\)$"):
        check_instance('3', 'n', int)
    with pytest.raises(TypeError, match=r"'n' must be a int or None \(got"):
        check_instance('3', 'n', int, optional=True)
    with pytest.raises(TypeError, match=r"^'x' must be a list or a tuple "):
        check_instance({}, 'x', (list, tuple), what='a list or a tuple')


def test_like_compares_dtype_then_device():
    ref = torch.zeros(2)
    check_like(torch.ones(3), 'x', ref, "'ref'")
    with pytest.raises(TypeError, match=r"'x' must have the dtype of 'ref'"):
        check_like(torch.ones(3, dtype=torch.float64), 'x', ref, "'ref'")
    with pytest.raises(ValueError, match=r"'x' must be on the device of 'r"):
        check_like(torch.ones(3, device='meta'), 'x', ref, "'ref'")


def test_returned_scores_are_checked():
    scores = torch.zeros(2, 3)
    assert check_returned(scores, 'fn', (2, 3), 'cpu') is scores
    with pytest.raises(TypeError, match=r"'fn' must return a floating-poi"):
        check_returned(None, 'fn', (2, 3))
    with pytest.raises(TypeError, match=r'floating-point tensor \(got tor'):
        check_returned(torch.zeros(2, 3, dtype=torch.long), 'fn', (2, 3))
    with pytest.raises(ValueError, match=r"'fn' must return scores on meta"):
        check_returned(scores, 'fn', (2, 3), 'meta')
    with pytest.raises(ValueError, match=r'of shape \[3, 2\] \(got \[2, 3'):
        check_returned(scores, 'fn', (3, 2))


def test_same_shape_names_both_arguments():
    ref = torch.zeros(2, 3)
    check_same_shape(torch.ones(2, 3, dtype=torch.long), 'x', ref, 'ref')
    with pytest.raises(
        ValueError, match=r"'x' must have the shape of 'ref' \[2, 3\] "
    ):
        check_same_shape(torch.ones(3, 2), 'x', ref, 'ref')
