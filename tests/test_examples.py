r"""The example scripts run with their smallest settings and print what they
promise; the notebooks are valid nbformat v4 whose code cells compile."""

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / 'examples'
NOTEBOOKS = EXAMPLES / 'notebooks'


def run_example(name, *args, timeout=120):
    env = dict(os.environ)
    # Tiny tensors: one intra-op thread avoids oversubscribing a small CPU
    # (several test processes may run at once).
    env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def load_example(name):
    spec = importlib.util.spec_from_file_location(
        Path(name).stem, EXAMPLES / name
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_gowalla():
    out = run_example(
        'sample_gowalla.py',
        '--batch-size',
        '64',
        '--num-neg',
        '2',
        '--seed',
        '1',
    )
    assert '[64, 2]' in out
    assert out.count('false negatives: 0 |') == 2  # uniform and popularity
    degree = dict(
        re.findall(
            r'(uniform|popularity)\s+\[.*mean item degree'
            r'\s+([\d.]+)',
            out,
        )
    )
    assert float(degree['popularity']) > float(degree['uniform'])
    assert 'train + test: negatives that are test items: 0' in out
    assert 'false negatives (train or test) with extra_positives: 0' in out


def test_link_prediction():
    out = run_example(
        'link_prediction.py',
        '--num-nodes',
        '120',
        '--epochs',
        '2',
        '--batch-size',
        '128',
        '--num-neg',
        '2',
    )
    assert 'false negatives: 0 (' in out
    assert 'loader false negatives: 0' in out
    aucs = [float(x) for x in re.findall(r'(?:val|test) AUC ([\d.]+)', out)]
    assert len(aucs) >= 4 and all(0.0 <= a <= 1.0 for a in aucs)
    # Seeded: a second run prints the same figures (timings aside). The
    # held-out negatives of RandomLinkSplit come from Python's random.
    again = run_example(
        'link_prediction.py',
        *('--num-nodes', '120', '--epochs', '2'),
        *('--batch-size', '128', '--num-neg', '2'),
    )
    timing = re.compile(r' in [\d.]+ s')
    assert timing.sub('', again) == timing.sub('', out)


def test_roc_auc_matches_pairwise_definition():
    import torch

    roc_auc = load_example('link_prediction.py').roc_auc
    scores = torch.tensor([0.9, 0.2, 0.5, 0.5, 0.1, 0.7])
    labels = torch.tensor([1, 0, 1, 0, 0, 1])
    pos, neg = scores[labels == 1], scores[labels == 0]
    diff = pos.view(-1, 1) - neg.view(1, -1)
    expected = float(((diff > 0).double() + 0.5 * (diff == 0).double()).mean())
    assert roc_auc(scores, labels) == pytest.approx(expected)
    with pytest.raises(ValueError, match="'labels' must hold both classes"):
        roc_auc(scores, torch.ones(6))


@pytest.mark.parametrize('method', ['dns', 'mixgcf', 'inbatch'])
def test_hard_negatives_custom_loop(method):
    out = run_example(
        'hard_negatives_custom_loop.py',
        '--method',
        method,
        '--users',
        '100',
        '--epochs',
        '1',
        '--dim',
        '8',
        '--layers',
        '1',
        '--candidates',
        '4',
        '--batch-size',
        '1024',
    )
    match = re.search(r'Recall@20 ([\d.]+) \| NDCG@20 ([\d.]+)', out)
    assert match, out
    assert 0.0 <= float(match[1]) <= 1.0 and 0.0 <= float(match[2]) <= 1.0
    if method == 'dns':
        assert 'false negatives: 0' in out
    if method == 'inbatch':
        assert 'loss softmax' in out


def test_knowledge_graph():
    out = run_example(
        'knowledge_graph.py',
        '--num-entities',
        '60',
        '--triples-per-relation',
        '100',
        '--epochs',
        '1',
    )
    for name in ('bernoulli', 'sans'):
        assert re.search(
            rf'{name}: false negatives: 0 of \d+ corrupted triples', out
        )
    assert out.count('one side changed in every corruption: True') == 2
    assert re.search(r'2-hop neighbourhoods \(SANS\): mean [\d.]+', out)
    # Every SANS corruption lies within two hops, or fell back to uniform.
    rows = re.findall(r'^(bernoulli|sans)\s+([\d.]+)%\s+([\d.]+)%', out, re.M)
    near = {name: (float(a), float(b)) for name, a, b in rows}
    assert set(near) == {'bernoulli', 'sans'}
    inside, fallback = near['sans']
    assert abs(inside + fallback - 100) < 0.15
    prob = {
        name: float(p)
        for name, p in re.findall(
            r'^(one-to-many|many-to-one)\s+[\d.]+\s+[\d.]+\s+([\d.]+)',
            out,
            flags=re.M,
        )
    }
    assert prob['one-to-many'] > 0.5 > prob['many-to-one']
    assert len(re.findall(r'MRR [\d.]+ \| Hits@10 [\d.]+', out)) == 2


def test_region_negatives():
    out = run_example('region_negatives.py', '--users', '80', '--epochs', '1')
    assert 'SIMULATED exposure (popularity top-20)' in out
    assert out.count('region: k=3, adjacent_hops=1') == 3
    rows = re.findall(r'^(uniform|region|recns|mcns)\s+([\d.]+)\s', out, re.M)
    assert [name for name, _ in rows] == [
        'uniform',
        'region',
        'recns',
        'mcns',
    ]
    assert all(0.0 <= float(recall) <= 1.0 for _, recall in rows)


@pytest.mark.parametrize(
    'argv,match',
    [
        (['--users', '0'], '--users must be positive'),
        (['--epochs', '0'], '--epochs must be positive'),
    ],
)
def test_region_negatives_bad_flags(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        load_example('region_negatives.py').main(argv)
    assert exc.value.code == 2
    assert match in capsys.readouterr().err


def test_distributed_link_prediction_under_torchrun():
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'torch.distributed.run',
            '--standalone',
            '--nproc_per_node',
            '2',
            str(EXAMPLES / 'distributed_link_prediction.py'),
            '--num-nodes',
            '200',
            '--epochs',
            '2',
            '--batch-size',
            '64',
            '--num-neg',
            '2',
        ],
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard, not a speed limit
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert 'processes: 2 (gloo)' in out
    train = int(re.search(r'train positives (\d+)', out)[1])
    rows = re.findall(
        r'epoch \d \| loss [\d.]+ \| positives (\d+) over 2 process\(es\) '
        r'\| false negatives: (\d+)',
        out,
    )
    assert len(rows) == 2  # rank 0 alone prints
    for seen, wrong in rows:
        # DistributedSampler pads to a multiple of the world size.
        assert int(seen) == train + train % 2 and int(wrong) == 0
    assert len(re.findall(r'(?:val|test) AUC ([\d.]+)', out)) == 2


@pytest.mark.parametrize(
    'name,argv,match',
    [
        ('sample_gowalla.py', ['--batch-size', '0'], '--batch-size must be'),
        ('sample_gowalla.py', ['--num-neg', '-1'], '--num-neg must be'),
        ('link_prediction.py', ['--epochs', '0'], '--epochs must be'),
        ('hard_negatives_custom_loop.py', ['--users', '0'], '--users must be'),
        (
            'hard_negatives_custom_loop.py',
            ['--layers', '-1'],
            '--layers must be',
        ),
        ('hard_negatives_custom_loop.py', ['--lr', '0'], '--lr must be'),
        (
            'hard_negatives_custom_loop.py',
            ['--candidates', '2', '--num-neg', '3'],
            'must be at least --num-neg',
        ),
        ('knowledge_graph.py', ['--dim', '0'], '--dim must be'),
        (
            'distributed_link_prediction.py',
            ['--num-neg', '0'],
            '--num-neg must be',
        ),
        ('knowledge_graph.py', ['--num-entities', '3'], 'at least 4'),
        ('knowledge_graph.py', ['--khop', '0'], '--khop must be positive'),
        ('knowledge_graph.py', ['--num-walks', '-1'], '--num-walks must'),
    ],
)
def test_bad_flags_are_refused_before_any_work(name, argv, match, capsys):
    module = load_example(name)
    with pytest.raises(SystemExit) as exc:
        module.main(argv)
    assert exc.value.code == 2
    assert match in capsys.readouterr().err


NOTEBOOK_FILES = sorted(NOTEBOOKS.glob('*.ipynb'))


def test_both_notebooks_exist():
    names = {p.name for p in NOTEBOOK_FILES}
    assert {'train_lightgcn.ipynb', 'compare_samplers.ipynb'} <= names


@pytest.mark.parametrize('path', NOTEBOOK_FILES, ids=lambda p: p.name)
def test_notebook_is_valid_and_compiles(path):
    nb = json.loads(path.read_text())
    assert nb['nbformat'] == 4
    assert nb['metadata']['kernelspec']['language'] == 'python'
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    assert code and any(c['cell_type'] == 'markdown' for c in nb['cells'])
    for i, cell in enumerate(code):
        source = ''.join(cell['source'])
        ast.parse(source, filename=f'{path.name}[code cell {i}]')
        for output in cell.get('outputs', []):  # saved outputs: no errors
            assert output['output_type'] != 'error', (path.name, i, output)
