import os
import subprocess
import sys

import pytest
import torch
from gloo_spawn import spawn
from tiny_data import write_lightgcn_folder

from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.distributed import DistributedContext
from torch_geometric_negsamp.metrics import evaluate_ranking
from torch_geometric_negsamp.train import (
    CheckpointError,
    TrainConfig,
    Trainer,
)
from torch_geometric_negsamp.train.ddp import DataParallel, split_metric_sums

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _tiny_split():
    gen = torch.Generator().manual_seed(0)
    U, I = 30, 40
    users = torch.arange(U).repeat_interleave(8)
    items = (users >= 15).long() * 20 + torch.randint(
        20, users.shape, generator=gen
    )
    pairs = torch.unique(torch.stack([users, items]), dim=1)
    test = torch.rand(pairs.size(1), generator=gen) < 0.2
    return InteractionSplit(pairs[:, ~test], pairs[:, test], U, I)


def _config(out, **kwargs):
    base = dict(
        out_dir=str(out),
        progress=False,
        plot=False,
        embedding_dim=8,
        num_layers=2,
        batch_size=32,
        lr=0.01,
        epochs=2,
        eval_every=1,
        eval_batch_size=7,
    )
    base.update(kwargs)
    return TrainConfig(**base)


#: Columns measured in wall-clock time, which no two runs share.
TIMED = ('train_seconds', 'neg_sampling_share')


def _drop_seconds(row):
    return {k: v for k, v in row.items() if k not in TIMED}


def _state(trainer):
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


# ------------------------------------------------------ in one process
def test_a_single_process_keeps_the_trainers_own_batches_and_state():
    single = DataParallel()
    perm = torch.randperm(10)
    parts = single.batches(perm, 4)
    assert [p.tolist() for p in parts] == [
        perm[:4].tolist(),
        perm[4:8].tolist(),
        perm[8:].tolist(),
    ]
    assert single.rank_seed(7) == 7 and single.describe() == ''
    assert repr(single) == 'DataParallel(rank=0, world_size=1)'
    state = {'a': 1}
    assert single.gather_state(state) is state
    assert single.scatter_state(state) is state
    with pytest.raises(ValueError, match='trained on 2 process'):
        single.scatter_state({'world_size': 2, 'ranks': [{}, {}]})
    lines = []
    assert single.gate(lines.append) == lines.append


def test_ranks_split_every_epoch_exactly_once_in_equal_steps():
    perm = torch.randperm(103, generator=torch.Generator().manual_seed(1))
    ranks = [
        DataParallel(DistributedContext(rank=r, world_size=3))
        for r in range(3)
    ]
    parts = [p.batches(perm, 8) for p in ranks]
    assert {len(p) for p in parts} == {5}  # ceil(ceil(103 / 3) / 8)
    assert max(b.numel() for p in parts for b in p) <= 8
    seen = torch.cat([b for p in parts for b in p])
    assert sorted(seen.tolist()) == sorted(perm.tolist())
    assert not ranks[1].is_main and ranks[1].gate(print) is not print
    # Too few positives for a step on every rank: refused, not an empty
    # batch.
    with pytest.raises(ValueError, match="'batch_size' \\(1\\) leaves a"):
        ranks[0].batches(perm[:5], 1)
    with pytest.raises(ValueError, match='trained on 1 process'):
        ranks[0].scatter_state({'sel': {}})


def test_split_metric_sums_add_up_to_the_full_evaluation():
    gen = torch.Generator().manual_seed(3)
    split = _tiny_split()
    user = torch.randn(30, 5, generator=gen)
    item = torch.randn(40, 5, generator=gen)
    args = (user, item, split.train_index, split.test_index)
    full = evaluate_ranking(*args, k=10, batch_size=4)
    for world in (1, 2, 4):
        sums = sum(
            split_metric_sums(*args, 10, 4, r, world) for r in range(world)
        )
        assert int(sums[-1]) == full['num_users']
        for i, name in enumerate(('recall', 'ndcg', 'precision', 'hit_rate')):
            mean = float(sums[i] / sums[-1])
            assert mean == pytest.approx(full[f'{name}@10'], abs=1e-12)


# --------------------------------------------------- two gloo processes
def _recorded_epochs(rank, world, out):
    split = _tiny_split()
    lines = []
    trainer = Trainer(_config(out / 'probe'), log=lines.append, split=split)
    pairs, negs = [], []
    step, negatives = trainer.train_step, trainer.strategy.negatives

    def train_step(users, pos):
        pairs[-1].append(torch.stack([users, pos]))
        return step(users, pos)

    def record(users, pos, ctx):
        neg = negatives(users, pos, ctx)
        negs[-1].append(neg.ids)
        return neg

    trainer.train_step, trainer.strategy.negatives = train_step, record
    for epoch in (0, 1, 0):
        pairs.append([]), negs.append([])
        trainer.train_epoch(epoch)
    trainer.log('a line')
    trainer._reseed(0)  # the same users, this rank's epoch-0 stream:
    fixed = trainer.strategy.sampler.sample_trusted(torch.arange(30), 4)
    return trainer, {
        'fixed': fixed,
        'pairs': [torch.cat(p, dim=1) for p in pairs],
        'steps': [len(p) for p in pairs],
        'negs': [torch.cat(n) for n in negs],
        'metrics': trainer.evaluate(),
        'model': _state(trainer),
        'lines': lines,
        'train': trainer.train_index,
    }


def _ranks(rank, world, out):
    # The trainers (and their DDP modules) are gone before the process
    # group ends (see distributed.context.end_process_group):
    torch.save(_record_runs(rank, world, out), out / f'rank{rank}.pt')
    DistributedContext.from_env().shutdown()


def _record_runs(rank, world, out):
    _, record = _recorded_epochs(rank, world, out)
    # NSCaching keeps per-rank caches: the checkpoint must hold each one.
    cache = dict(sampler='cache', cache_size=4, candidates=4)
    full = Trainer(_config(out / 'full', **cache), split=_tiny_split())
    record['full'] = full.fit().history
    record['full_model'] = _state(full)
    part = Trainer(
        _config(out / 'part', epochs=1, **cache), split=_tiny_split()
    )
    part.fit()
    # A fresh trainer (as a new launch would make) resumes from the file.
    config = _config(out / 'part', resume=True, **cache)
    resumed = Trainer(config, log=lambda line: None, split=_tiny_split())
    record['resumed'] = resumed.fit().history
    record['resumed_model'] = _state(resumed)
    # DENS trains gates of its own: DDP averages their gradients too.
    dens = Trainer(
        _config(out / 'dens', sampler='dens', candidates=4, epochs=1),
        log=lambda line: None,
        split=_tiny_split(),
    )
    record['dens_init'] = [
        p.detach().clone() for p in dens.strategy.parameters()
    ]
    dens.fit()
    record['dens'] = [p.detach().clone() for p in dens.strategy.parameters()]
    return record


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp('ddp')
    spawn(_ranks, world=2, args=(out,))
    return out, [
        torch.load(out / f'rank{r}.pt', weights_only=False) for r in range(2)
    ]


def test_every_positive_is_trained_exactly_once_per_epoch(runs):
    _, ranks = runs
    train = ranks[0]['train']
    expected = sorted(map(tuple, train.t().tolist()))
    for epoch in range(3):
        seen = torch.cat([r['pairs'][epoch] for r in ranks], dim=1)
        assert sorted(map(tuple, seen.t().tolist())) == expected
        # Data-parallel steps synchronise: the same count on each rank.
        assert ranks[0]['steps'][epoch] == ranks[1]['steps'][epoch] > 1
    # The epoch's shuffle changes, the pairs of a rank with it.
    assert not torch.equal(ranks[0]['pairs'][0], ranks[0]['pairs'][1])


def test_negatives_are_distinct_per_rank_and_reproducible(runs):
    _, ranks = runs
    for r in ranks:
        # Epoch 0 again gives the same draws (stream from seed, rank,
        # epoch); epoch 1 others.
        assert torch.equal(r['negs'][0], r['negs'][2])
        assert not torch.equal(r['negs'][0], r['negs'][1])
    assert not torch.equal(ranks[0]['fixed'], ranks[1]['fixed'])
    # Exact: no negative is a training positive of its user.
    train = set(map(tuple, ranks[0]['train'].t().tolist()))
    for r in ranks:
        users = r['pairs'][0][0]
        for u, i in zip(users.tolist(), r['negs'][0].view(-1).tolist()):
            assert (u, i) not in train


def test_rank_zero_alone_logs_and_the_weights_agree(runs):
    _, ranks = runs
    assert ranks[0]['lines'] == ['a line'] and ranks[1]['lines'] == []
    for key, value in ranks[0]['model'].items():
        assert torch.equal(value, ranks[1]['model'][key])


def test_dens_gates_train_and_agree_across_ranks(runs):
    _, ranks = runs
    assert len(ranks[0]['dens']) > 0
    for after, other in zip(ranks[0]['dens'], ranks[1]['dens']):
        assert torch.equal(after, other)
    assert any(
        not torch.equal(before, after)
        for before, after in zip(ranks[0]['dens_init'], ranks[0]['dens'])
    )


def test_all_reduced_metrics_equal_a_single_process_evaluation(runs, tmp_path):
    _, ranks = runs
    single = Trainer(
        _config(tmp_path), log=lambda line: None, split=_tiny_split()
    )
    single.model.load_state_dict(ranks[0]['model'])
    expected = single.evaluate()
    assert set(expected) == set(ranks[0]['metrics'])
    assert any(value > 0 for value in expected.values())
    for r in ranks:
        for key, value in expected.items():
            assert r['metrics'][key] == pytest.approx(value, abs=1e-12)


def test_resume_under_ddp_continues_the_uninterrupted_run(runs, tmp_path):
    out, ranks = runs
    for r in ranks:
        for key, value in r['full_model'].items():
            assert torch.equal(r['resumed_model'][key], value), key
        assert [_drop_seconds(row) for row in r['resumed']] == [
            _drop_seconds(row) for row in r['full']
        ]
    # Diagnostics are pooled over the ranks: every rank records one row.
    rows = [[_drop_seconds(row) for row in r['full']] for r in ranks]
    assert rows[0] == rows[1]
    assert 'neg_hardness' in rows[0][0]
    assert (out / 'full' / 'metrics.json').exists()
    assert not list((out / 'full').glob('*.tmp'))
    # The checkpoint holds both ranks' streams: one process cannot resume.
    cache = dict(sampler='cache', cache_size=4, candidates=4)
    config = _config(out / 'part', resume=True, epochs=3, **cache)
    single = Trainer(config, log=lambda line: None, split=_tiny_split())
    with pytest.raises(CheckpointError, match='trained on 2 process'):
        single.fit()


# ------------------------------------------------------------ torchrun
def test_torchrun_runs_the_command_on_two_processes(tmp_path):
    write_lightgcn_folder(tmp_path / 'data')
    command = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        '--standalone',
        '--nproc_per_node',
        '2',
        '-m',
        'torch_geometric_negsamp',
        '--dataset',
        'folder',
        '--data-root',
        str(tmp_path / 'data'),
        '--epochs',
        '2',
        '--eval-every',
        '1',
        '--embedding-dim',
        '4',
        '--layers',
        '1',
        '--batch-size',
        '8',
        '--select-on-test',
        '--device',
        'cpu',
        '--out',
        str(tmp_path / 'run'),
        '--no-progress',
        '--no-plot',
    ]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=env
    )
    if run.returncode != 0:
        (tmp_path / 'stderr.txt').write_text(run.stderr)
    assert run.returncode == 0, run.stderr[-6000:]
    lines = run.stdout.splitlines()
    assert 'cpu x 2 processes (gloo)' in lines[0], lines
    assert sum(line.startswith('Recall@20 ') for line in lines) == 1
    assert sum(line.startswith('epoch ') for line in lines) == 2
    assert (tmp_path / 'run' / 'checkpoint.pt').exists()
