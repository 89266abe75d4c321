import math

import pytest
import torch

from torch_geometric_negsamp import PopularitySampler, UniformSampler


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(mode='nope'), ValueError, 'nope'),
        (dict(mode=1), ValueError, "'mode' must be one of"),
        (dict(amount=0), ValueError, "'amount' must be positive"),
        (dict(amount=float('nan')), ValueError, "'amount' must be finite"),
        (dict(amount=float('inf')), ValueError, "'amount' must be finite"),
        (dict(amount='2'), TypeError, "'amount' must be a float"),
        (dict(amount=1.5), ValueError, "'amount' must be an integer"),
        (dict(filtered=1), TypeError, "'filtered' must be a bool"),
        (dict(allow_self='no'), TypeError, "'allow_self' must be a bool"),
        (dict(undirected='no'), TypeError, "'undirected' must be a bool"),
        (dict(seed=2**70), ValueError, "'seed' must be at most"),
        (dict(on_unsatisfiable='skip'), ValueError, "'on_unsatisfiable' must"),
        (dict(max_trials=0), ValueError, "'max_trials' must be a positive"),
        (dict(seed='1'), TypeError, "'seed' must be an int"),
        (
            dict(generator=1),
            TypeError,
            "'generator' must be a torch.Generator",
        ),
    ],
)
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        UniformSampler(**kwargs)


def test_binary_mode_allows_fractional_amount():
    sampler = UniformSampler('binary', amount=0.5)
    assert sampler.amount == 0.5


def test_sample_errors():
    edge_index = torch.tensor([[0, 1], [1, 2]])
    sampler = UniformSampler()
    with pytest.raises(RuntimeError, match="call 'fit"):
        sampler.sample_negatives(torch.tensor([0]))
    sampler.fit(edge_index, 3)
    with pytest.raises(ValueError, match="'src' holds node index 3"):
        sampler.sample_negatives(torch.tensor([3]))
    with pytest.raises(TypeError, match="'src' must hold integer"):
        sampler.sample_negatives(torch.tensor([0.0]))
    with pytest.raises(ValueError, match="'src' must have 1 dimension"):
        sampler.sample_negatives(torch.tensor([[0]]))
    with pytest.raises(ValueError, match="'dst_pos' must have as many"):
        sampler.sample_negatives(torch.tensor([0, 1]), torch.tensor([1]))
    with pytest.raises(ValueError, match="'dst_pos' holds node index 7"):
        sampler.sample_negatives(torch.tensor([0]), torch.tensor([7]))
    with pytest.raises(ValueError, match="'num_neg' must be a positive"):
        sampler.sample_negatives(torch.tensor([0]), num_neg=0)
    with pytest.raises(ValueError, match="'num_samples' must be a positive"):
        sampler.sample_pairs(0)
    with pytest.raises(ValueError, match="'edge_type' .* was not fitted"):
        sampler.sample_negatives(torch.tensor([0]), edge_type=('a', 'b', 'c'))


def test_fit_errors():
    from torch_geometric.data import HeteroData

    sampler = UniformSampler()
    with pytest.raises(ValueError, match="'num_nodes' must be an int or a"):
        sampler.fit(torch.tensor([[0], [1]]), (2, 2, 2))
    with pytest.raises(TypeError, match="'extra_positives' must be a tensor"):
        sampler.fit(torch.tensor([[0], [1]]), 2, extra_positives={})
    with pytest.raises(ValueError, match="'undirected=True' needs a homog"):
        UniformSampler(undirected=True).fit(torch.tensor([[0], [1]]), (2, 3))
    data = HeteroData()
    data['a'].num_nodes = 2
    data['a', 'to', 'a'].edge_index = torch.tensor([[0], [1]])
    with pytest.raises(
        ValueError, match='names no single edge type of the data'
    ):
        sampler.fit(data, edge_type=('a', 'x', 'a'))
    with pytest.raises(TypeError, match='must be a dict keyed by edge type'):
        sampler.fit(data, extra_positives=torch.tensor([[0], [0]]))


def test_pairs_when_every_pair_is_positive_raises():
    full = torch.tensor([[0, 0, 1, 1], [0, 1, 0, 1]])
    sampler = UniformSampler('binary').fit(full, (2, 2))
    with pytest.raises(ValueError, match='no source node has a valid'):
        sampler.sample_pairs(3)


def test_fit_infers_num_nodes_and_accepts_data():
    from torch_geometric.data import Data

    sampler = UniformSampler().fit(torch.tensor([[0, 3], [1, 2]]))
    assert sampler.index().num_dst_nodes == 4
    sampler.fit(Data(edge_index=torch.tensor([[0], [1]]), num_nodes=6))
    assert sampler.index().num_dst_nodes == 6


def test_to_device_keeps_results():
    sampler = UniformSampler(seed=0).fit(torch.tensor([[0], [1]]), 3)
    assert sampler.to('cpu').index().device.type == 'cpu'
    with pytest.raises(ValueError, match="'src' is on meta"):
        sampler.sample_negatives(torch.tensor([0], device='meta'))


def test_trusted_sampling_after_a_single_check():
    edge_index = torch.tensor([[0, 0, 1], [0, 1, 2]])
    sampler = UniformSampler(seed=0).fit(edge_index, (3, 4))
    sampler.check_sources(torch.tensor([0, 1, 2]))
    neg = sampler.sample_trusted(torch.tensor([0, 0, 1]), 50)
    assert neg.shape == (3, 50)
    assert set(neg[0].tolist()) == {2, 3} and 2 not in neg[2].tolist()
    a = UniformSampler(seed=3).fit(edge_index, (3, 4))
    b = UniformSampler(seed=3).fit(edge_index, (3, 4))
    src = torch.tensor([0, 1, 2])
    assert torch.equal(
        a.sample_trusted(src, 5), b.sample_negatives(src, num_neg=5)
    )
    full = UniformSampler().fit(torch.tensor([[0, 0], [0, 1]]), (2, 2))
    with pytest.raises(ValueError, match='source node 0 has no valid'):
        full.check_sources(torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="'src' holds node index 5"):
        full.check_sources(torch.tensor([5]))
    with pytest.raises(ValueError, match="'src' is on meta"):
        full.check_sources(torch.tensor([0], device='meta'))


@pytest.mark.parametrize('cls', [UniformSampler, PopularitySampler])
def test_trusted_log_prob_equals_log_prob(cls):
    # users 0..2, items 0..4; user 0 holds items 0 and 1.
    edge_index = torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, 1, 3]])
    sampler = cls(seed=0).fit(edge_index, (3, 5))
    src = torch.tensor([0, 1, 2])
    neg = sampler.sample_trusted(src, 6)
    trusted = sampler.log_prob_trusted(src.view(-1, 1), neg)
    assert torch.equal(trusted, sampler.log_prob(src.view(-1, 1), neg))
    # By hand for the uniform sampler: user 0 has 3 valid items of 5.
    if cls is UniformSampler:
        assert torch.allclose(
            trusted[0], torch.full((6,), -math.log(3)).double()
        )
    # A positive gets -inf (filtered), as in log_prob:
    assert sampler.log_prob_trusted(torch.tensor([0]), torch.tensor([1])) == (
        -math.inf
    )
