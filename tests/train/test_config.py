import pytest
import torch

from torch_geometric_negsamp.train import PRESETS, TrainConfig
from torch_geometric_negsamp.train.config import (
    RESUME_KEYS,
    SIZE_FIELDS,
    preset_values,
)


@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(dataset='nope'), ValueError, "'dataset' names no known"),
        (dict(dataset=3), TypeError, "'dataset' must be a dataset name"),
        (dict(dataset='yelp2018'), ValueError, "'data_root' is needed"),
        (dict(dataset='folder', data_root=1), TypeError, "'data_root' must"),
        (dict(encoder='gcn'), ValueError, "'encoder' names no known"),
        (dict(sampler='nope'), ValueError, "'sampler' names no known"),
        (dict(sampler=None), TypeError, "'sampler' must be a sampler name"),
        (dict(loss='mse'), ValueError, "'loss' names no known"),
        (dict(num_neg=0), ValueError, "'num_neg' must be a positive integer"),
        (dict(num_neg=1.5), TypeError, "'num_neg' must be an int"),
        (dict(batch_size=-1), ValueError, "'batch_size' must be a positive"),
        (dict(epochs=0), ValueError, "'epochs' must be a positive"),
        (dict(eval_every=0), ValueError, "'eval_every' must be a positive"),
        (dict(k=0), ValueError, "'k' must be a positive"),
        (dict(eval_batch_size=0), ValueError, "'eval_batch_size' must be"),
        (dict(embedding_dim=0), ValueError, "'embedding_dim' must be a pos"),
        (dict(candidates=0), ValueError, "'candidates' must be a positive"),
        (dict(cache_size=0), ValueError, "'cache_size' must be a positive"),
        (dict(queue_size=0), ValueError, "'queue_size' must be a positive"),
        (dict(mixed_negatives=-1), ValueError, "'mixed_negatives' must be"),
        (
            dict(sampler='dns', candidates=2, num_neg=3),
            ValueError,
            r"'candidates' \(2\) must be at least 'num_neg' \(3\)",
        ),
        (
            dict(sampler='Soft-Max', candidates=2, num_neg=3),
            ValueError,
            r"'candidates' \(2\)",
        ),
        (dict(num_layers=-1), ValueError, "'num_layers' must be non-neg"),
        (dict(subset_users=0), ValueError, "'subset_users' must be a posi"),
        (dict(lr=0.0), ValueError, "'lr' must be positive"),
        (dict(lr=float('inf')), ValueError, "'lr' must be finite"),
        (dict(lr=float('nan')), ValueError, "'lr' must be finite"),
        (dict(lr='0.1'), TypeError, "'lr' must be a float"),
        (dict(temperature=-1.0), ValueError, "'temperature' must be posit"),
        (
            dict(loss_temperature=0.0),
            ValueError,
            "'loss_temperature' must be posit",
        ),
        (dict(loss_temperature='1'), TypeError, "'loss_temperature' must be"),
        (dict(margin=0.0), ValueError, "'margin' must be positive"),
        (dict(reg=-1.0), ValueError, "'reg' must be non-negative"),
        (dict(reg=float('inf')), ValueError, "'reg' must be finite"),
        (dict(alpha=-1.0), ValueError, "'alpha' must be non-negative"),
        (dict(alpha=float('nan')), ValueError, "'alpha' must be finite"),
        (dict(val_fraction=1.0), ValueError, r"'val_fraction' must be in"),
        (dict(select_on='train'), ValueError, "'select_on' must be one of"),
        (dict(val_fraction=0.0), ValueError, "'select_on=val' needs a val"),
        (dict(seed=2**70), ValueError, "'seed' must be at most"),
        (dict(out_dir=''), TypeError, "'out_dir' must be a non-empty str"),
        (dict(resume='no'), TypeError, "'resume' must be a bool"),
        (dict(progress=1), TypeError, "'progress' must be a bool"),
        (dict(plot=None), TypeError, "'plot' must be a bool"),
        (dict(max_minutes=0), ValueError, "'max_minutes' must be positive"),
        (dict(device='gpu0'), ValueError, "'device' is not a device"),
        (dict(device=0), TypeError, "'device' must be a str"),
    ],
)
def test_config_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**kwargs).validate()


def test_valid_configurations_pass_and_names_are_normalised():
    assert TrainConfig().validate() == TrainConfig()
    config = TrainConfig(
        sampler='In-Batch', encoder='LightGCN', loss='BPR', mixed_negatives=0
    ).validate()
    assert config.strategy_key == 'inbatch'
    TrainConfig(dataset='amazon-book', data_root='x').validate()
    # candidates >= num_neg binds dns and softmax only:
    TrainConfig(sampler='mixgcf', candidates=2, num_neg=3).validate()


def test_cuda_device_without_cuda_is_refused():
    if torch.cuda.is_available():
        pytest.skip('CUDA is available here')
    with pytest.raises(ValueError, match='CUDA is not available'):
        TrainConfig(device='cuda').validate()
    assert TrainConfig(device='auto').resolve_device() == torch.device('cpu')


def test_every_size_defaults_to_32_and_is_a_resume_key():
    # Before the four sizes got their own fields, '--candidates 32' set
    # them all: the defaults keep that behaviour.
    config = TrainConfig()
    for name in SIZE_FIELDS:
        assert getattr(config, name) == 32, name
        assert name in RESUME_KEYS, name


def test_unused_sizes_names_the_fields_the_sampler_ignores():
    assert TrainConfig(sampler='dns', candidates=64).unused_sizes() == {}
    assert TrainConfig(sampler='cache', candidates=64).unused_sizes() == {
        'candidates': 64
    }
    config = TrainConfig(sampler='dns', queue_size=8, cache_size=32)
    assert config.unused_sizes() == {'queue_size': 8}


def test_presets():
    assert preset_values('quick') == PRESETS['quick']
    assert preset_values('paper', 'cpu') == PRESETS['paper']
    auto = 'paper' if torch.cuda.is_available() else 'quick'
    assert preset_values('auto') == PRESETS[auto]
    assert preset_values('auto', 'cuda:0') == PRESETS['paper']
    assert preset_values('auto', 'cpu') == PRESETS['quick']
    with pytest.raises(ValueError, match="'preset' must be one of"):
        preset_values('fast')


GIB = 2**30


@pytest.mark.parametrize(
    'kwargs,name',
    [
        (dict(num_neg=10**9), 'num_neg'),
        (dict(sampler='dns', candidates=10**9), 'candidates'),
        (
            dict(sampler='mixgcf', num_neg=10**4, candidates=10**5),
            'candidates',
        ),
        (dict(sampler='cache', cache_size=10**12), 'cache_size'),
        (dict(sampler='queue', queue_size=10**13), 'queue_size'),
        (dict(sampler='inbatch', mixed_negatives=10**13), 'mixed_negatives'),
        (
            dict(sampler='inbatch', batch_size=10**7, embedding_dim=1),
            'batch_size',
        ),
        (dict(embedding_dim=10**9), 'embedding_dim'),
        (dict(eval_batch_size=10**9), 'eval_batch_size'),
    ],
)
def test_requests_that_cannot_fit_are_refused_with_their_bytes(kwargs, name):
    config = TrainConfig(**kwargs)
    U, I, E = 10**6, 10**6, 10**9
    with pytest.raises(ValueError, match=f"'{name}' asks for .* GiB"):
        config.check_fits(U, I, E, torch.device('cpu'))


def test_requests_that_fit_pass_and_the_batch_is_bounded_by_the_data():
    # The README's run: Gowalla with the quick preset.
    TrainConfig().check_fits(29858, 40981, 810128, torch.device('cpu'))
    for sampler in SIZE_FIELDS.values():
        config = TrainConfig(sampler=sampler[0])
        config.check_fits(29858, 40981, 810128, torch.device('cpu'))
    # A huge batch is harmless when the data holds 10 pairs:
    TrainConfig(sampler='inbatch', batch_size=10**8).check_fits(
        5, 5, 10, torch.device('cpu')
    )
