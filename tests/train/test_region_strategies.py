import io
import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_geometric_negsamp.__main__ import main
from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.sampler import UniformSampler
from torch_geometric_negsamp.train import (
    LOSSES,
    Context,
    TrainConfig,
    Trainer,
    build_loss,
    build_strategy,
    build_strategy_from_config,
)
from torch_geometric_negsamp.train.region_strategies import (
    MCNSStrategy,
    RecNSStrategy,
    base_sampler,
    config_options,
    strategy_notes,
)

REGION_SAMPLERS = ['region', 'recns', 'mcns']
ENCODERS = ['lightgcn', 'ngcf', 'pinsage']


def _pairs(num_users=24, num_items=30, per_user=5, seed=0):
    # Two communities (users < U/2 like items < I/2), so that every user
    # has a non-empty intermediate region and a non-empty distant one.
    gen = torch.Generator().manual_seed(seed)
    users = torch.arange(num_users).repeat_interleave(per_user)
    half = num_items // 2
    offset = (users >= num_users // 2).long() * half
    items = offset + torch.randint(half, (users.numel(),), generator=gen)
    return torch.unique(torch.stack([users, items]), dim=1)


def _write(path, pairs, num_users):
    rows = {u: [] for u in range(num_users)}
    for u, v in pairs.t().tolist():
        rows[u].append(v)
    lines = [' '.join(map(str, [u, *vs])) for u, vs in rows.items() if vs]
    path.write_text('\n'.join(lines) + '\n')


def _folder(tmp_path):
    root = tmp_path / 'data'
    if not root.exists():
        root.mkdir()
        pairs = _pairs()
        test = torch.arange(pairs.size(1)) % 5 == 0
        _write(root / 'train.txt', pairs[:, ~test], 24)
        _write(root / 'test.txt', pairs[:, test], 24)
    return str(root)


def _argv(tmp_path, *extra):
    return [
        '--dataset',
        'folder',
        '--data-root',
        _folder(tmp_path),
        '--epochs',
        '2',
        '--eval-every',
        '1',
        '--embedding-dim',
        '8',
        '--layers',
        '2',
        '--batch-size',
        '32',
        '--num-neg',
        '3',
        '--candidates',
        '6',
        '--out',
        str(tmp_path / 'run'),
        '--no-progress',
        '--no-plot',
        *extra,
    ]


def _metrics(tmp_path):
    return json.loads((tmp_path / 'run' / 'metrics.json').read_text())


def _finite_history(tmp_path):
    data = _metrics(tmp_path)
    rows = data['history'] if isinstance(data, dict) else data
    assert len(rows) == 2
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                assert math.isfinite(value), (key, value)
    return rows


# ------------------------------------------------------------ the command
@pytest.mark.parametrize(
    'sampler,encoder',
    [(s, e) for s in REGION_SAMPLERS for e in ENCODERS],
)
def test_command_trains_each_region_sampler_with_each_encoder(
    tmp_path, capsys, sampler, encoder
):
    extra = ['--simulate-exposure', '4'] if sampler == 'recns' else []
    argv = _argv(tmp_path, '--sampler', sampler, '--encoder', encoder)
    assert main([*argv, *extra]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    rows = _finite_history(tmp_path)
    assert all(0.0 <= row['test_recall@20'] <= 1.0 for row in rows)
    assert 'region: k=3, adjacent_hops=1' in out
    if sampler == 'recns':
        assert "trains with the 'sigmoid-hinge' loss" in out
        assert 'SIMULATED exposure (popularity top-4)' in out


def test_command_reads_an_exposure_file(tmp_path, capsys):
    exposure = tmp_path / 'exposure.txt'
    # Every user is shown item 0 and item 29 (one of them is in its own
    # community, the other not).
    exposure.write_text(''.join(f'{u} 0 29\n' for u in range(24)))
    argv = _argv(tmp_path, '--sampler', 'recns', '--exposure', str(exposure))
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f'exposure (file {exposure})' in out
    assert 'SIMULATED' not in out
    _finite_history(tmp_path)


def test_command_without_exposure_says_recns_o_alone(tmp_path, capsys):
    assert main(_argv(tmp_path, '--sampler', 'recns', '--epochs', '1')) == 0
    assert 'no exposure data: RecNS-O negatives alone' in (
        capsys.readouterr().out
    )


def test_exposure_ids_out_of_range_are_a_one_line_error(tmp_path, capsys):
    exposure = tmp_path / 'exposure.txt'
    exposure.write_text('0 1 99\n')
    argv = _argv(tmp_path, '--sampler', 'recns', '--exposure', str(exposure))
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and 'item id' in err[0] and 'exposure.txt' in err[0]


@pytest.mark.parametrize(
    'extra,needle',
    [
        (['--khop', '4'], "'khop' (--khop) must be odd"),
        (['--khop', '0'], "'khop' must be a positive integer"),
        (['--adjacent-hops', '2'], "'adjacent_hops' (--adjacent-hops) must"),
        (['--khop', '3', '--adjacent-hops', '3'], 'smaller than'),
        (['--distant-share', '1.5'], "'distant_share'"),
        (['--region-budget', '0'], "'region_budget' must be a positive"),
        (['--exposure', 'nowhere.txt'], "'exposure' (--exposure) must name"),
        (['--simulate-exposure', '0'], "'simulate_exposure' must be a pos"),
    ],
)
def test_bad_region_flags_are_one_line_errors(tmp_path, capsys, extra, needle):
    assert main(_argv(tmp_path, '--sampler', 'region', *extra)) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not (tmp_path / 'run').exists()  # refused before any work


# ----------------------------------------------------------- the config
@pytest.mark.parametrize(
    'kwargs,error,match',
    [
        (dict(khop=2), ValueError, r"'khop' \(--khop\) must be odd"),
        (dict(khop=-1), ValueError, "'khop' must be a positive"),
        (dict(khop=1), ValueError, "'adjacent_hops' .* smaller than 'khop'"),
        (dict(khop=3.0), TypeError, "'khop' must be an int"),
        (dict(adjacent_hops=0), ValueError, "'adjacent_hops' must be a pos"),
        (dict(adjacent_hops=4, khop=5), ValueError, "'adjacent_hops' .* odd"),
        (
            dict(adjacent_hops=5, khop=5),
            ValueError,
            r'got adjacent_hops=5, khop=5',
        ),
        (dict(distant_share=-0.1), ValueError, "'distant_share' must be"),
        (dict(region_budget=0), ValueError, "'region_budget' must be a pos"),
        (dict(exposure=''), TypeError, "'exposure' must be a non-empty"),
        (dict(exposure='/no/such'), ValueError, 'does not exist'),
        (dict(simulate_exposure=0), ValueError, "'simulate_exposure' must"),
    ],
)
def test_region_config_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**kwargs).validate()


def test_exposure_combinations_are_refused(tmp_path):
    path = tmp_path / 'exposure.txt'
    path.write_text('0 1\n')
    with pytest.raises(ValueError, match='not both'):
        TrainConfig(exposure=str(path), simulate_exposure=3).validate()
    with pytest.raises(ValueError, match="'subset_users' renumbers"):
        TrainConfig(exposure=str(path), subset_users=10).validate()
    # A gzip-compressed file is found as the reader finds it:
    (tmp_path / 'gz.txt.gz').write_bytes(b'')
    TrainConfig(exposure=str(tmp_path / 'gz.txt')).validate()


def test_candidates_are_read_by_recns_and_region_fields_pass_through():
    config = TrainConfig(sampler='recns', candidates=20).validate()
    assert config.unused_sizes() == {}
    assert base_sampler('recns') == base_sampler('mcns') == 'region'
    assert base_sampler('dns') == 'uniform'
    assert base_sampler('popularity') == 'popularity'
    assert config_options('recns') == (
        'exposure',
        'simulate_exposure',
        'encoder',
    )
    assert config_options('uniform') == ()
    pairs = _pairs()
    for sampler in REGION_SAMPLERS:
        config = TrainConfig(
            sampler=sampler,
            khop=5,
            adjacent_hops=3,
            distant_share=0.25,
            region_budget=2**24,
        ).validate()
        strategy = build_strategy_from_config(config, pairs, 24, 30)
        region_sampler = strategy.sampler
        assert (region_sampler.k, region_sampler.adjacent_hops) == (5, 3)
        assert region_sampler.distant_share == 0.25
        assert region_sampler.memory_budget == 2**24
        assert region_sampler.region().k == 5
    # A strategy on another sampler gets none of them:
    config = TrainConfig(sampler='dns', khop=5).validate()
    other = build_strategy_from_config(config, pairs, 24, 30).sampler
    assert type(other) is UniformSampler


def test_sigmoid_hinge_loss_by_hand():
    assert 'sigmoid-hinge' in LOSSES
    loss = build_loss('sigmoid-hinge', TrainConfig())
    pos = torch.tensor([0.0, 10.0])
    neg = torch.tensor([[0.0, math.log(3.0)], [-10.0, -10.0]])
    # Row 0: sigmoid(0) = 0.5 and sigmoid(log 3) = 0.75 against 0.5, so
    # the hinges are 0.1 and 0.35 (mean 0.225); row 1 is far inside the
    # margin (0). The batch mean is 0.1125.
    assert torch.allclose(loss(pos, neg), torch.tensor(0.1125))


# ----------------------------------------------------------- strategies
def _ctx(num_users, num_items, seed=0, dim=4):
    gen = torch.Generator().manual_seed(seed)
    emb = torch.randn(num_users + num_items, dim, generator=gen)
    return Context(emb[:num_users], emb[num_users:], [emb])


def _strategy(name, pairs, num_users, num_items, **kwargs):
    kwargs.setdefault('num_neg', 3)
    kwargs.setdefault('candidates', 5)
    return build_strategy(name, pairs, num_users, num_items, **kwargs)


@st.composite
def _graphs(draw):
    num_users = draw(st.integers(2, 7))
    num_items = draw(st.integers(3, 9))
    edges = draw(
        st.sets(
            st.tuples(
                st.integers(0, num_users - 1), st.integers(0, num_items - 1)
            ),
            min_size=1,
            max_size=num_users * (num_items - 1),
        )
    )
    # Every user misses at least one item (else it has no negative).
    edges = {(u, v) for u, v in edges if v != (u % num_items)}
    if not edges:
        edges = {(0, (1 % num_items) if num_items > 1 else 0)}
    pairs = torch.tensor(sorted(edges)).t()
    return pairs, num_users, num_items, draw(st.integers(0, 2**16))


@settings(max_examples=25, deadline=None)
@given(_graphs(), st.sampled_from(REGION_SAMPLERS), st.sampled_from([0, 0.5]))
def test_negatives_are_never_training_positives(graph, name, share):
    pairs, num_users, num_items, seed = graph
    options = dict(k=3, adjacent_hops=1, distant_share=share)
    strategy = _strategy(
        name, pairs, num_users, num_items, sampler_options=options
    )
    strategy.reseed(seed)
    positives = set(map(tuple, pairs.t().tolist()))
    users, pos = pairs
    for step in range(2):
        neg = strategy.negatives(
            users, pos, _ctx(num_users, num_items, seed + step)
        )
        assert neg.ids.shape == (users.numel(), 3)
        assert neg.emb.shape == (users.numel(), 3, 4)
        for u, row in zip(users.tolist(), neg.ids.tolist()):
            assert all((u, v) not in positives for v in row), (name, u, row)


def test_recns_with_exposure_merges_and_pinsage_renormalises():
    pairs = _pairs()
    strategy = _strategy(
        'recns', pairs, 24, 30, simulate_exposure=3, encoder='pinsage'
    )
    assert isinstance(strategy, RecNSStrategy)
    assert strategy.forces_loss == 'sigmoid-hinge'
    assert strategy.exposure.simulated and strategy.recns.renorm
    strategy.reseed(0)
    users, pos = pairs
    neg = strategy.negatives(users, pos, _ctx(24, 30))
    # Merged with the exposed item and renormalised: unit rows that are
    # not the plain RecNS-O item embeddings.
    assert torch.allclose(neg.emb.norm(dim=-1), torch.ones(users.numel(), 3))
    plain = _ctx(24, 30).item_emb[neg.ids]
    assert not torch.allclose(neg.emb, plain)
    assert strategy.recns.stats()['no_exposure'] == 0
    notes = strategy_notes(strategy)
    assert any(line.startswith('SIMULATED exposure') for line in notes)


def test_recns_without_exposure_is_recns_o_alone():
    pairs = _pairs()
    strategy = _strategy('recns', pairs, 24, 30, encoder='lightgcn')
    assert strategy.exposure is None and not strategy.recns.renorm
    strategy.reseed(0)
    users, pos = pairs
    ctx = _ctx(24, 30)
    neg = strategy.negatives(users, pos, ctx)
    assert torch.equal(neg.emb, ctx.item_emb[neg.ids])
    assert strategy.recns.stats()['no_exposure'] == users.numel()


@pytest.mark.parametrize('name', ['recns', 'mcns'])
def test_state_round_trip_and_reseed_are_deterministic(name):
    pairs = _pairs()
    users, pos = pairs
    source = _strategy(name, pairs, 24, 30)
    source.reseed(2)
    source.negatives(users, pos, _ctx(24, 30))
    buffer = io.BytesIO()
    torch.save(source.state_dict(), buffer)
    buffer.seek(0)
    target = _strategy(name, pairs, 24, 30)
    target.load_state_dict(torch.load(buffer, weights_only=True))
    source.reseed(5)
    target.reseed(5)
    for seed in (3, 4):
        a = source.negatives(users, pos, _ctx(24, 30, seed))
        b = target.negatives(users, pos, _ctx(24, 30, seed))
        assert torch.equal(a.ids, b.ids) and torch.equal(a.emb, b.emb)
    cls = RecNSStrategy if name == 'recns' else MCNSStrategy
    assert isinstance(source, cls)


def test_the_region_is_built_from_the_training_edges_only(tmp_path):
    pairs = _pairs()
    test = torch.arange(pairs.size(1)) % 5 == 0
    split = InteractionSplit(pairs[:, ~test], pairs[:, test], 24, 30)
    config = TrainConfig(
        sampler='region',
        out_dir=str(tmp_path / 'run'),
        progress=False,
        plot=False,
        embedding_dim=4,
        val_fraction=0.2,
    )
    trainer = Trainer(config, log=lambda line: None, split=split)
    known = torch.stack(trainer.strategy.sampler.index().edges())
    train = trainer.train_index
    assert trainer.split.num_val > 0
    key = lambda e: set(map(tuple, e.t().tolist()))  # noqa: E731
    assert key(known) == key(train)
    # Validation and test items are no known positives: the region may
    # hold them (they are not in the adjacent region of their user).
    held_out = torch.cat([trainer.split.val_index, split.test_index], 1)
    assert not (key(held_out) & key(known))
    region = trainer.strategy.sampler.region()
    inside = region.contains(held_out[0], held_out[1])
    assert bool(inside.any())


def test_region_flags_the_sampler_ignores_are_named():
    config = TrainConfig(sampler='uniform', khop=5, distant_share=0.5)
    assert config.unused_sizes() == {'khop': 5, 'distant_share': 0.5}
    config = TrainConfig(sampler='mcns', khop=5, simulate_exposure=3)
    assert config.unused_sizes() == {'simulate_exposure': 3}


def test_command_notes_a_region_flag_the_sampler_ignores(tmp_path, capsys):
    argv = _argv(tmp_path, '--epochs', '1', '--khop', '5')
    assert main(argv) == 0
    assert 'note: --khop is not read by --sampler uniform' in (
        capsys.readouterr().err
    )


def test_recns_candidate_embeddings_that_cannot_fit_are_refused():
    config = TrainConfig(sampler='recns', candidates=10**9)
    with pytest.raises(ValueError, match="'candidates' asks for .* GiB"):
        config.check_fits(10**6, 10**6, 10**9, torch.device('cpu'))
    TrainConfig(sampler='recns', candidates=20).check_fits(
        29858, 40981, 810128, torch.device('cpu')
    )


def _assert_same_state(x, y):
    if isinstance(x, dict):
        assert list(x) == list(y)
        for key in x:
            _assert_same_state(x[key], y[key])
    elif isinstance(x, torch.Tensor):
        assert torch.equal(x, y)
    else:
        assert x == y


@pytest.mark.parametrize(
    'encoder,sampler,extra',
    [
        ('lightgcn', 'mcns', {}),
        ('pinsage', 'recns', dict(simulate_exposure=3)),
    ],
)
def test_resume_equals_uninterrupted_run(tmp_path, encoder, sampler, extra):
    # The MCNS chains and the RecNS counters are in the checkpoint: a run
    # resumed after epoch 2 ends exactly as the run of 3 epochs.
    pairs = _pairs()
    test = torch.arange(pairs.size(1)) % 5 == 0
    split = InteractionSplit(pairs[:, ~test], pairs[:, test], 24, 30)

    def trainer(folder, epochs, **kwargs):
        config = TrainConfig(
            encoder=encoder,
            sampler=sampler,
            num_neg=2,
            candidates=4,
            embedding_dim=4,
            num_layers=1,
            batch_size=32,
            epochs=epochs,
            eval_every=1,
            out_dir=str(tmp_path / folder),
            progress=False,
            plot=False,
            **extra,
            **kwargs,
        )
        return Trainer(config, log=lambda line: None, split=split)

    a = trainer('a', 3)
    a.fit()
    trainer('b', 2).fit()
    c = trainer('b', 3, resume=True)
    c.fit()
    for (name, x), (_, y) in zip(
        a.model.state_dict().items(), c.model.state_dict().items()
    ):
        assert torch.equal(x, y), name
    state_a, state_c = a.strategy.state_dict(), c.strategy.state_dict()
    assert list(state_a) == list(state_c) == [sampler]
    _assert_same_state(state_a, state_c)
    d = trainer('d', 3, seed=1)
    d.fit()
    assert not torch.equal(d.model.embedding.weight, a.model.embedding.weight)
