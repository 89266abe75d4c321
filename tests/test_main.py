import subprocess
import sys

import pytest
from tiny_data import write_lightgcn_folder

from torch_geometric_negsamp.__main__ import (
    build_parser,
    config_from_args,
    main,
)


def _tiny(tmp_path, *extra):
    if not (tmp_path / 'data').exists():
        write_lightgcn_folder(tmp_path / 'data')
    return [
        '--dataset',
        'folder',
        '--data-root',
        str(tmp_path / 'data'),
        '--epochs',
        '1',
        '--eval-every',
        '1',
        '--embedding-dim',
        '4',
        '--layers',
        '1',
        '--batch-size',
        '16',
        '--select-on-test',
        '--out',
        str(tmp_path / 'run'),
        '--no-progress',
        '--no-plot',
        *extra,
    ]


def _one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('negsamp-train: error: ')
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize(
    'argv,needle',
    [
        (['--sampler', 'nope'], "'sampler' names no known sampler"),
        (['--epochs', '0'], "'epochs' must be a positive integer"),
        (['--lr', '-1'], "'lr' must be positive"),
        (['--lr', 'inf'], "'lr' must be finite (got inf)"),
        (['--lr', 'nan'], "'lr' must be finite"),
        (['--encoder', 'gcn'], "'encoder' names no known encoder"),
        (['--batch-size', 'x'], 'argument --batch-size: invalid int value'),
        (['--dataset', 'yelp2018'], "'data_root' is needed"),
        (['--val-fraction', '0'], "'select_on=val' needs a validation"),
        (['--seed', str(2**70)], "'seed' must be at most"),
        (['--queue-size', '0'], "'queue_size' must be a positive integer"),
        (['--mixed-negatives', '-1'], "'mixed_negatives' must be non-neg"),
        (['--preset', 'fast'], 'argument --preset: invalid choice'),
        (['--no-such-flag'], 'unrecognized arguments: --no-such-flag'),
    ],
)
def test_bad_flags_give_a_one_line_error(argv, needle, capsys):
    _one_line_error(capsys, main(argv), needle)


def test_missing_data_root_folder_is_a_one_line_error(tmp_path, capsys):
    argv = ['--dataset', 'folder', '--data-root', str(tmp_path / 'x')]
    code = main([*argv, '--out', str(tmp_path / 'run'), '--no-progress'])
    _one_line_error(capsys, code, 'train.txt')


def test_a_request_that_cannot_fit_is_refused(tmp_path, capsys):
    code = main(_tiny(tmp_path, '--num-neg', '1000000000'))
    _one_line_error(capsys, code, "'num_neg' asks for", 'GiB')
    assert not (tmp_path / 'run' / 'checkpoint.pt').exists()


def test_an_unwritable_output_folder_is_refused(tmp_path, capsys):
    (tmp_path / 'file').write_text('x')
    argv = _tiny(tmp_path, '--out', str(tmp_path / 'file' / 'run'))
    _one_line_error(capsys, main(argv), "'out_dir' must be a folder")


def test_resume_without_a_checkpoint_is_refused(tmp_path, capsys):
    code = main(_tiny(tmp_path, '--resume'))
    _one_line_error(capsys, code, 'nothing to resume', 'checkpoint.pt')


def test_resume_refuses_a_damaged_checkpoint_and_changed_data(
    tmp_path, capsys
):
    assert main(_tiny(tmp_path)) == 0
    capsys.readouterr()
    path = tmp_path / 'run' / 'checkpoint.pt'
    good = path.read_bytes()
    flipped = bytearray(good)
    flipped[-500:-436] = bytes(b ^ 0xFF for b in flipped[-500:-436])
    damaged = {
        'corrupted': bytes(flipped),
        'truncated': good[: len(good) // 2],
        'empty': b'',
    }
    for word, data in damaged.items():
        path.write_bytes(data)
        code = main(_tiny(tmp_path, '--resume', '--epochs', '2'))
        _one_line_error(capsys, code, str(path), word)
    path.write_bytes(good)
    # The same shape, other test items:
    write_lightgcn_folder(tmp_path / 'data', shift=1)
    code = main(_tiny(tmp_path, '--resume', '--epochs', '2'))
    _one_line_error(capsys, code, 'trained on other data')
    write_lightgcn_folder(tmp_path / 'data')
    assert main(_tiny(tmp_path, '--resume', '--epochs', '2')) == 0
    assert 'resumed from' in capsys.readouterr().out


def test_each_size_flag_sets_its_own_field():
    parser = build_parser()
    args = ['--candidates', '4', '--cache-size', '5', '--queue-size', '6']
    config = config_from_args(
        parser.parse_args([*args, '--mixed-negatives', '0'])
    )
    sizes = (
        config.candidates,
        config.cache_size,
        config.queue_size,
        config.mixed_negatives,
    )
    assert sizes == (4, 5, 6, 0)
    defaults = config_from_args(parser.parse_args([]))
    assert defaults.candidates == defaults.cache_size == 32
    assert defaults.queue_size == defaults.mixed_negatives == 32


def test_a_size_flag_the_sampler_ignores_gets_a_note(tmp_path, capsys):
    assert main(_tiny(tmp_path, '--cache-size', '5')) == 0
    err = capsys.readouterr().err
    assert 'note: --cache-size is not read by --sampler uniform' in err


def test_presets_and_overrides():
    parser = build_parser()
    quick = config_from_args(parser.parse_args(['--device', 'cpu']))
    assert (quick.batch_size, quick.lr, quick.epochs) == (8192, 5e-3, 20)
    paper = config_from_args(
        parser.parse_args(['--preset', 'paper', '--lr', '0.002'])
    )
    assert (paper.batch_size, paper.lr, paper.epochs) == (2048, 0.002, 1000)
    test = config_from_args(parser.parse_args(['--select-on-test']))
    assert test.select_on == 'test' and test.val_fraction == 0.0
    assert quick.out_dir == 'runs/gowalla-lightgcn-uniform-seed0'


@pytest.mark.slow
def test_main_trains_and_prints_metrics(tmp_path, capsys):
    code = main(
        [
            '--subset-users',
            '200',
            '--epochs',
            '2',
            '--eval-every',
            '2',
            '--batch-size',
            '1024',
            '--embedding-dim',
            '16',
            '--out',
            str(tmp_path),
            '--no-progress',
            '--no-plot',
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert 'Recall@20' in out and 'NDCG@20' in out
    assert (tmp_path / 'metrics.csv').exists()


@pytest.mark.slow
def test_module_entry_point():
    run = subprocess.run(
        [sys.executable, '-m', 'torch_geometric_negsamp', '--help'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and '--cache-size' in run.stdout
    run = subprocess.run(
        [sys.executable, '-m', 'torch_geometric_negsamp', '--lr', 'inf'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert (
        run.stderr == "negsamp-train: error: 'lr' must be finite (got inf)\n"
    )


@pytest.mark.parametrize(
    'argv,needle',
    [
        (['--patience', '-1'], "'patience' must be"),
        (['--patience', 'x'], 'argument --patience: invalid int value'),
        (['--sampler', 'dns', '--warmup-epochs', '-1'], "'warmup_epochs'"),
        (['--warmup-epochs', '3'], "'warmup_epochs' is read by the samplers"),
        (['--tensorboard', ''], "'tensorboard' must be a non-empty str"),
        (
            ['--sampler', 'srns', '--candidates', '2', '--num-neg', '3'],
            "'candidates' (2) must be at least 'num_neg' (3)",
        ),
    ],
)
def test_bad_hardness_and_stopping_flags_are_refused(
    tmp_path, argv, needle, capsys
):
    code = main(_tiny(tmp_path, *argv))
    _one_line_error(capsys, code, needle)
    assert not (tmp_path / 'run').exists()


def test_tensorboard_without_the_package_is_refused(tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec('tensorboard') is not None:
        pytest.skip('tensorboard is installed')
    code = main(_tiny(tmp_path, '--tensorboard', str(tmp_path / 'tb')))
    _one_line_error(capsys, code, "pip install 'torch_geometric_negsamp")
    assert not (tmp_path / 'tb').exists()


def test_the_long_preset_stops_early_and_the_flags_reach_the_config():
    parser = build_parser()
    paper = config_from_args(parser.parse_args(['--preset', 'paper']))
    quick = config_from_args(parser.parse_args(['--preset', 'quick']))
    assert (paper.patience, quick.patience) == (10, None)
    args = ['--preset', 'paper', '--patience', '0', '--warmup-epochs', '4']
    config = config_from_args(parser.parse_args(args))
    assert (config.patience, config.warmup_epochs) == (0, 4)


def test_the_help_gives_the_warm_up_defaults_the_samplers_use():
    from torch_geometric_negsamp.train import hard_strategies

    text = ' '.join(build_parser().format_help().split())
    assert (
        f'(default: dens {hard_strategies.DENS_WARMUP}, srns '
        f'{hard_strategies.SRNS_WARMUP})'
    ) in text


@pytest.mark.parametrize('sampler', ['ahns', 'dens', 'srns'])
def test_main_trains_with_the_hard_samplers(tmp_path, capsys, sampler):
    code = main(_tiny(tmp_path, '--sampler', sampler, '--candidates', '4'))
    out = capsys.readouterr().out
    assert code == 0 and 'Recall@20' in out
    with open(tmp_path / 'run' / 'metrics.csv') as f:
        header = f.readline()
    assert 'neg_hardness' in header and 'neg_false_negative_rate' in header


@pytest.mark.parametrize(
    'raised,code,needle',
    [
        (KeyboardInterrupt, 130, 'the same flags and --resume --out'),
        (FloatingPointError('loss is nan'), 2, 'loss is nan'),
    ],
)
def test_an_interrupt_or_a_diverged_run_ends_in_one_message(
    monkeypatch, tmp_path, capsys, raised, code, needle
):
    from torch_geometric_negsamp.train.trainer import Trainer

    def fit(self):
        raise raised

    monkeypatch.setattr(Trainer, 'fit', fit)
    assert main(_tiny(tmp_path)) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    if code == 130:
        assert 'interrupted after epoch 0' in err[0]
    else:
        assert err[0].startswith('negsamp-train: error: ')
