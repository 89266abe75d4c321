import subprocess
import sys

import pytest

from torch_geometric_negsamp.__main__ import (
    build_parser,
    config_from_args,
    main,
)


@pytest.mark.parametrize(
    'argv,match',
    [
        (['--sampler', 'nope'], "'sampler' must be one of"),
        (['--epochs', '0'], "'epochs' must be a positive integer"),
        (['--lr', '-1'], "'lr' must be positive"),
        (['--encoder', 'gcn'], 'argument --encoder: invalid choice'),
        (['--batch-size', 'x'], 'argument --batch-size: invalid int value'),
        (['--dataset', 'yelp2018'], "'data_root' is needed"),
        (['--val-fraction', '0'], "'select_on=val' needs a validation split"),
    ],
)
def test_bad_flags_give_a_one_line_error(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('negsamp-train: error:')
    assert match.split(':')[0].strip("'") in err


def test_missing_data_root_folder_is_a_one_line_error(tmp_path, capsys):
    code = main(
        [
            '--dataset',
            'folder',
            '--data-root',
            str(tmp_path / 'x'),
            '--no-progress',
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'train.txt' in err


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


def test_module_entry_point_help():
    out = subprocess.run(
        [sys.executable, '-m', 'torch_geometric_negsamp', '--help'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and '--sampler' in out.stdout
