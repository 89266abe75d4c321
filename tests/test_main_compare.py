import csv
import os
import subprocess
import sys

import pytest
from tiny_data import write_lightgcn_folder

from torch_geometric_negsamp.compare import COMPARE_PATIENCE, main


def _argv(tmp_path, *extra):
    return [
        '--dataset',
        'folder',
        '--data-root',
        write_lightgcn_folder(tmp_path / 'data'),
        '--epochs',
        '2',
        '--eval-every',
        '1',
        '--embedding-dim',
        '4',
        '--layers',
        '1',
        '--batch-size',
        '16',
        '--candidates',
        '4',
        '--select-on-test',
        '--out',
        str(tmp_path / 'cmp'),
        '--no-progress',
        '--no-plot',
        *extra,
    ]


def test_compares_the_samplers_and_writes_one_row_each(tmp_path, capsys):
    code = main(_argv(tmp_path, '--samplers', 'uniform, dns,srns'))
    out = capsys.readouterr().out
    assert code == 0, out
    with open(tmp_path / 'cmp' / 'compare.csv') as f:
        rows = list(csv.DictReader(f))
    assert [row['sampler'] for row in rows] == ['uniform', 'dns', 'srns']
    for row in rows:
        assert os.path.exists(tmp_path / 'cmp' / row['sampler'] / 'best.pt')
    header = [line for line in out.splitlines() if line.startswith('sampler')]
    assert len(header) == 1 and 'best epoch' in header[0]
    assert 'compare.csv' in out


def _one_line_error(capsys, code, needle):
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith('negsamp-compare: error: ')
    assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    'extra,needle',
    [
        ([], 'the following arguments are required: --samplers'),
        (['--samplers', 'uniform,'], "'samplers' must be comma-separated"),
        (['--samplers', 'uniform,nope'], "'samplers' names no known"),
        (['--samplers', 'dns,DNS'], "'samplers' names 'dns' twice"),
        (['--samplers', 'dns', '--sampler', 'dns'], 'not --sampler'),
        (['--samplers', 'dns', '--patience', '-1'], "'patience' must be"),
        (
            ['--samplers', 'uniform,ahns', '--num-neg', '5'],
            "'candidates' (4) must be at least 'num_neg' (5)",
        ),
    ],
)
def test_bad_flags_give_a_one_line_error_before_any_work(
    tmp_path, capsys, extra, needle
):
    _one_line_error(capsys, main(_argv(tmp_path, *extra)), needle)
    assert not (tmp_path / 'cmp').exists()


def test_early_stopping_is_on_by_default(monkeypatch, tmp_path):
    from torch_geometric_negsamp.train import compare

    seen = []

    def fake(config, samplers, log):
        seen.append(config.patience)
        return compare.Comparison()

    monkeypatch.setattr(compare, 'compare_samplers', fake)
    assert main(_argv(tmp_path, '--samplers', 'dns')) == 0
    assert main(_argv(tmp_path, '--samplers', 'dns', '--patience', '0')) == 0
    assert seen == [COMPARE_PATIENCE, 0]


def test_the_command_is_installed_under_its_name():
    tomllib = pytest.importorskip('tomllib')
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, 'pyproject.toml'), 'rb') as f:
        project = tomllib.load(f)['project']
    scripts = project['scripts']
    assert scripts['negsamp-compare'] == 'torch_geometric_negsamp.compare:main'
    assert project['optional-dependencies']['tensorboard']


@pytest.mark.slow
def test_module_entry_point():
    run = subprocess.run(
        [sys.executable, '-m', 'torch_geometric_negsamp.compare', '--help'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0 and '--samplers' in run.stdout


@pytest.mark.parametrize(
    'raised,code,needle',
    [
        (KeyboardInterrupt, 130, 'finished runs are kept'),
        (FloatingPointError('loss is nan'), 2, 'loss is nan'),
    ],
)
def test_an_interrupt_or_a_diverged_run_ends_in_one_message(
    monkeypatch, tmp_path, capsys, raised, code, needle
):
    from torch_geometric_negsamp.train import compare

    def fake(config, samplers, log):
        raise raised

    monkeypatch.setattr(compare, 'compare_samplers', fake)
    # Run through main(argv) by another program: its own argv must not
    # leak into the resume hint.
    monkeypatch.setattr(sys, 'argv', ['caller', '--caller-flag'])
    assert main(_argv(tmp_path, '--samplers', 'dns')) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    if code == 130:
        assert '--caller-flag' not in err[0]
        assert err[0].endswith(f'--resume --out {tmp_path / "cmp"}'), err
    else:
        assert err[0].startswith('negsamp-compare: error: ')
