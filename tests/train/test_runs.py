import pytest
import torch

from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.train import CheckpointError, Trainer
from torch_geometric_negsamp.train.runs import load_run, selected_test_recall


def test_a_loaded_run_is_the_run_that_was_saved(
    tmp_path, tiny_split, tiny_config
):
    cfg = tiny_config(tmp_path / 'dns', sampler='dns', epochs=4, patience=5)
    trainer = Trainer(cfg, log=lambda line: None, split=tiny_split)
    with pytest.raises(ValueError, match="'trainer' has no selected"):
        selected_test_recall(trainer)
    result = trainer.fit()
    values = selected_test_recall(trainer)
    # One value per test user, whose mean is the selected test Recall:
    assert values.numel() == int(tiny_split.test_index[0].unique().numel())
    assert values.mean().item() == pytest.approx(
        result.best['test_recall@20'], rel=1e-9
    )
    loaded = load_run(str(tmp_path / 'dns'), tiny_split, log=lambda l: None)
    assert loaded.config.sampler == 'dns' and loaded.config.resume
    assert loaded.config.embedding_dim == 8 and loaded.epoch == 4
    assert loaded.result.best == result.best
    assert loaded.result.history == result.history
    assert torch.equal(selected_test_recall(loaded), values)


def test_load_run_refuses_a_folder_without_a_run_or_other_data(
    tmp_path, tiny_split, tiny_config
):
    with pytest.raises(CheckpointError, match="'run_dir' holds no run"):
        load_run(str(tmp_path), tiny_split)
    cfg = tiny_config(tmp_path / 'u', epochs=1)
    Trainer(cfg, log=lambda line: None, split=tiny_split).fit()
    # The same sizes, one test pair fewer: other data.
    other = InteractionSplit(
        tiny_split.train_index,
        tiny_split.test_index[:, 1:],
        tiny_split.num_users,
        tiny_split.num_items,
    )
    with pytest.raises(CheckpointError, match='trained on other data'):
        load_run(str(tmp_path / 'u'), other, log=lambda line: None)


def test_load_run_reads_a_checkpoint_of_an_older_version(
    tmp_path, tiny_split, tiny_config
):
    from torch_geometric_negsamp.train import checkpoint

    run = tmp_path / 'old'
    Trainer(tiny_config(run), log=lambda line: None, split=tiny_split).fit()
    path = str(run / 'checkpoint.pt')
    state = checkpoint.read_checkpoint(path)
    # A version before 'temperature' existed, and with a field since gone:
    del state['config']['temperature']
    state['config']['retired_setting'] = 3
    checkpoint.write_checkpoint(path, state)
    loaded = load_run(str(run), tiny_split, log=lambda line: None)
    assert loaded.config.temperature == 1.0  # the default
    assert loaded.result.best == state['best']
    # A checkpoint without a configuration is refused by name:
    state['config'] = None
    checkpoint.write_checkpoint(path, state)
    with pytest.raises(CheckpointError, match='holds no configuration'):
        load_run(str(run), tiny_split)


@pytest.mark.parametrize(
    'args,error,match',
    [
        (dict(run_dir=123), TypeError, "'run_dir' must be a path"),
        (dict(split='x'), TypeError, "'split' must be"),
        (dict(device=0), TypeError, "'device' must be"),
        (dict(log=5), TypeError, "'log' must be callable"),
    ],
)
def test_load_run_refuses_bad_arguments_before_reading(
    tmp_path, args, error, match
):
    kwargs = dict(run_dir=str(tmp_path / 'none'))  # no run there either
    kwargs.update(args)
    with pytest.raises(error, match=match):
        load_run(**kwargs)
