import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from torch_geometric_negsamp.kg import (
    BernoulliCorruption,
    CorruptedTriples,
    TripleCorruption,
    UniformCorruption,
)
from torch_geometric_negsamp.sampler import UnsatisfiableError


def _kg():
    # (head, relation, tail) of six triples on six entities, two relations.
    head = torch.tensor([0, 0, 0, 1, 2, 3])
    rel = torch.tensor([0, 0, 0, 1, 1, 1])
    tail = torch.tensor([1, 2, 3, 4, 4, 4])
    return head, rel, tail


def _one(h, r, t):
    return torch.tensor([h]), torch.tensor([r]), torch.tensor([t])


# ------------------------------------------------------------- exactness
@st.composite
def knowledge_graphs(draw):
    n = draw(st.integers(1, 5))
    num_rel = draw(st.integers(1, 3))
    triple = st.tuples(
        st.integers(0, n - 1),
        st.integers(0, num_rel - 1),
        st.integers(0, n - 1),
    )
    train = draw(st.lists(triple, min_size=1, max_size=3 * n * num_rel))
    extra = draw(st.lists(triple, max_size=4))
    batch = draw(st.lists(st.sampled_from(train + extra), min_size=1))
    return n, num_rel, train, extra, batch


def _tensor(triples):
    return torch.tensor(triples, dtype=torch.long).view(-1, 3).t()


@settings(max_examples=80, deadline=None)
@given(
    graph=knowledge_graphs(),
    kind=st.sampled_from(['both', 'head', 'tail', 'bernoulli']),
    k=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_no_corruption_is_a_known_triple_and_counts_are_exact(
    graph, kind, k, seed
):
    n, num_rel, train, extra, batch = graph
    if kind == 'bernoulli':
        corruption = BernoulliCorruption(k, seed=seed)
    else:
        corruption = UniformCorruption(k, corrupt=kind, seed=seed)
    corruption.fit(
        _tensor(train),
        num_entities=n,
        num_relations=num_rel,
        extra_positives=_tensor(extra) if extra else None,
    )
    known = set(train) | set(extra)
    sides = ('head', 'tail') if kind in ('both', 'bernoulli') else (kind,)

    def valid(h, r, t, side):
        if side not in sides:
            return set()
        if side == 'head':
            return {e for e in range(n) if (e, r, t) not in known}
        return {e for e in range(n) if (h, r, e) not in known}

    stuck = [
        (h, r, t)
        for h, r, t in batch
        if not valid(h, r, t, 'head') and not valid(h, r, t, 'tail')
    ]
    if stuck:
        with pytest.raises(UnsatisfiableError, match='no valid corruption'):
            corruption.sample(_tensor(batch))
        return
    neg = corruption.sample(_tensor(batch))
    for field in neg:
        assert field.shape == (len(batch), k)
    for i, (h, r, t) in enumerate(batch):
        heads, tails = valid(h, r, t, 'head'), valid(h, r, t, 'tail')
        for j in range(k):
            triple = (
                int(neg.head[i, j]),
                int(neg.relation[i, j]),
                int(neg.tail[i, j]),
            )
            assert triple not in known
            if bool(neg.head_replaced[i, j]):
                assert triple[0] in heads and triple[1:] == (r, t)
            else:
                assert triple[2] in tails and triple[:2] == (h, r)


def test_the_other_side_serves_when_the_chosen_one_has_no_candidate():
    # (0, 0, 1) and (1, 0, 1) on two entities: no head is left for tail 1,
    # the tail 0 is left for head 0.
    triples = _tensor([(0, 0, 1), (1, 0, 1)])
    corruption = UniformCorruption(50, seed=0).fit(triples, num_entities=2)
    neg = corruption.sample(_one(0, 0, 1))
    assert not neg.head_replaced.any()
    assert (neg.head == 0).all() and (neg.tail == 0).all()


def test_unsatisfiable_triple_raises_naming_it_before_any_draw():
    full = _tensor([(0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 0, 1), (0, 1, 0)])
    corruption = BernoulliCorruption(seed=0).fit(full, num_entities=2)
    state = corruption.get_generator().get_state()
    batch = _tensor([(0, 1, 0), (0, 0, 1), (1, 0, 1)])
    with pytest.raises(ValueError, match=r'triple \(0, 0, 1\) has no valid'):
        corruption.sample(batch)
    with pytest.raises(ValueError, match=r'2 such triple\(s\)'):
        corruption.sample(batch)
    assert torch.equal(corruption.get_generator().get_state(), state)


def test_filtered_sampling_needs_known_positives():
    corruption = UniformCorruption(seed=0).fit(_kg(), num_entities=6)
    with pytest.raises(ValueError, match=r'known triples .*\(5, 0, 1\)'):
        corruption.sample(_one(5, 0, 1))
    unfiltered = UniformCorruption(filtered=False, seed=0)
    neg = unfiltered.fit(_kg(), num_entities=6).sample(_one(5, 0, 1))
    assert neg.head.shape == (1, 1)


def test_extra_positives_are_never_drawn_and_change_no_statistic():
    extra = _tensor([(5, 0, 1), (0, 0, 5)])
    corruption = BernoulliCorruption(500, seed=0)
    corruption.fit(_kg(), num_entities=6, extra_positives=extra)
    neg = corruption.sample(_one(0, 0, 1))
    heads = set(neg.head[neg.head_replaced].tolist())
    tails = set(neg.tail[~neg.head_replaced].tolist())
    assert heads == {1, 2, 3, 4}  # 0 is the positive, 5 the extra
    assert tails == {0, 4}  # 1, 2, 3 are training triples, 5 the extra
    plain = BernoulliCorruption().fit(_kg(), num_entities=6)
    assert torch.equal(corruption.head_prob, plain.head_prob)


# ---------------------------------------------------------- determinism
def _draws(**kwargs):
    corruption = UniformCorruption(5, **kwargs).fit(_kg(), num_entities=6)
    return corruption.sample(_kg()), corruption.sample(_kg())


def test_same_seed_same_draws_and_the_stream_advances():
    (a1, a2), (b1, b2) = _draws(seed=3), _draws(seed=3)
    for x, y in zip(a1 + a2, b1 + b2):
        assert torch.equal(x, y)
    assert not torch.equal(a1.head, a2.head)
    c1, _ = _draws(generator=torch.Generator().manual_seed(3))
    assert torch.equal(a1.head, c1.head) and torch.equal(a1.tail, c1.tail)
    d1, _ = _draws(seed=4)
    assert not torch.equal(a1.head, d1.head)


def test_reseed_restarts_the_stream():
    corruption = UniformCorruption(5, seed=3).fit(_kg(), num_entities=6)
    first = corruption.sample(_kg())
    corruption.sample(_kg())
    again = corruption.reseed(3).sample(_kg())
    assert torch.equal(first.head, again.head)
    assert torch.equal(first.tail, again.tail)


class _Batches(torch.utils.data.Dataset):
    def __init__(self, corruption):
        self.corruption = corruption

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return self.corruption.sample(_kg()).head


def _worker_draws(corruption):
    loader = DataLoader(
        _Batches(corruption), batch_size=None, num_workers=2
    )  # batch i comes from worker i % 2
    torch.manual_seed(0)
    return list(loader)


def test_dataloader_workers_draw_distinct_reproducible_streams():
    corruption = UniformCorruption(8, seed=1).fit(_kg(), num_entities=6)
    first, again = _worker_draws(corruption), _worker_draws(corruption)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], first[1])  # workers 0 and 1
    main = corruption.sample(_kg()).head
    assert not torch.equal(first[0], main)


# ------------------------------------------------------ extension point
class _EvenTails(TripleCorruption):
    r"""Replaces tails only, by even entities (a restricted candidate set,
    as a structure-aware corruption would supply)."""

    sides = ('tail',)

    def head_probability(self, relation):
        return torch.zeros(relation.shape, dtype=torch.float64)

    def num_candidates(self, kept, relation, side):
        return torch.full_like(kept, (self.num_entities + 1) // 2)

    def draw_candidates(self, kept, relation, side, generator):
        count = torch.full_like(kept, (self.num_entities + 1) // 2)
        return 2 * torch.randint(
            int(count.max()), kept.shape, generator=generator
        )


def test_subclass_supplies_only_its_candidate_sets():
    corruption = _EvenTails(200, filtered=False, seed=0)
    neg = corruption.fit(_kg(), num_entities=6).sample(_kg())
    assert not neg.head_replaced.any()
    assert set(neg.tail.view(-1).tolist()) == {0, 2, 4}


def test_base_class_defines_no_side_probability():
    corruption = TripleCorruption(seed=0).fit(_kg(), num_entities=6)
    with pytest.raises(NotImplementedError):
        corruption.sample(_kg())


# ---------------------------------------------------- device and memory
def test_to_share_memory_and_index():
    corruption = BernoulliCorruption(seed=0).fit(_kg(), num_entities=6)
    assert corruption.to('cpu') is corruption
    assert corruption.device == torch.device('cpu')
    corruption.share_memory_()
    index = corruption.index('tail')
    assert index.keys.is_shared()
    # Relation 0, head 0 (row 0 * 6 + 0) has tails 1, 2, 3:
    assert index.neighbors(torch.tensor([0]))[1].tolist() == [1, 2, 3]
    assert corruption.index('head').num_src_nodes == 2 * 6


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_with_a_cpu_generator():
    corruption = BernoulliCorruption(4, seed=0).fit(_kg(), num_entities=6)
    cpu = corruption.sample(_kg())
    corruption.reseed(0).to('cuda')
    assert corruption.head_prob.is_cuda
    head, rel, tail = (x.cuda() for x in _kg())
    neg = corruption.sample((head, rel, tail))
    assert neg.head.is_cuda and neg.head_replaced.is_cuda
    for x, y in zip(cpu, neg):
        assert torch.equal(x, y.cpu())
    with pytest.raises(ValueError, match="'triples\\[0\\]' is on cpu"):
        corruption.sample(_kg())
    with pytest.raises(ValueError, match="'triples\\[2\\]' is on cpu"):
        corruption.sample((head, rel, tail.cpu()))


# ----------------------------------------------------------- raise paths
def test_constructor_errors():
    with pytest.raises(TypeError, match="'num_neg' must be an int"):
        UniformCorruption(1.5)
    with pytest.raises(ValueError, match="'num_neg' must be a positive"):
        BernoulliCorruption(0)
    with pytest.raises(TypeError, match="'filtered' must be a bool"):
        UniformCorruption(filtered=1)
    with pytest.raises(TypeError, match="'seed' must be an int"):
        UniformCorruption(seed='0')
    with pytest.raises(TypeError, match="'generator' must be a torch.Gen"):
        UniformCorruption(generator=0)
    with pytest.raises(ValueError, match="at most one of 'seed'"):
        UniformCorruption(seed=0, generator=torch.Generator())


def test_fit_errors():
    head, rel, tail = _kg()
    c = UniformCorruption()
    with pytest.raises(ValueError, match="'num_entities' must be given"):
        c.fit(torch.empty(3, 0, dtype=torch.long))
    with pytest.raises(ValueError, match="'num_relations' must be given"):
        c.fit(torch.empty(3, 0, dtype=torch.long), num_entities=2)
    with pytest.raises(TypeError, match="'num_entities' must be an int"):
        c.fit(_kg(), num_entities=6.0)
    with pytest.raises(ValueError, match="'num_relations' must be a pos"):
        c.fit(_kg(), num_relations=0)
    with pytest.raises(ValueError, match="'num_entities' is too large"):
        c.fit(_kg(), num_entities=2**31, num_relations=2)
    with pytest.raises(ValueError, match="'triples\\[2\\]' holds entity id 4"):
        c.fit(_kg(), num_entities=4)
    with pytest.raises(
        ValueError, match="'triples\\[0\\]' holds entity id -1"
    ):
        c.fit((head - 1, rel, tail))
    with pytest.raises(ValueError, match="'relation' holds relation id 1,"):
        c.fit(torch.stack([head, tail]), rel, num_relations=1)
    with pytest.raises(ValueError, match="'extra_positives\\[1\\]' holds"):
        c.fit(_kg(), num_relations=2, extra_positives=(head, rel + 5, tail))
    with pytest.raises(ValueError, match="'extra_positives\\[1\\]\\[0\\]'"):
        c.fit(
            _kg(),
            num_entities=6,
            num_relations=2,
            extra_positives=[_tensor([(0, 0, 1)]), _tensor([(9, 0, 1)])],
        )


def test_sample_errors():
    c = BernoulliCorruption(seed=0)
    with pytest.raises(RuntimeError, match="call 'fit"):
        c.sample(_kg())
    with pytest.raises(RuntimeError, match="call 'fit"):
        c.to('cpu')
    with pytest.raises(RuntimeError, match="call 'fit"):
        c.index('head')
    c.fit(_kg(), num_entities=6)
    with pytest.raises(ValueError, match="'triples\\[1\\]' holds relation"):
        c.sample(_one(0, 2, 1))
    with pytest.raises(ValueError, match="'triples\\[0\\]' holds entity id 6"):
        c.sample(_one(6, 0, 1))
    with pytest.raises(ValueError, match="'num_neg' must be a positive"):
        c.sample(_kg(), num_neg=0)
    with pytest.raises(TypeError, match="'num_neg' must be an int"):
        c.sample(_kg(), num_neg=2.0)
    with pytest.raises(ValueError, match="'num_neg' asks for corrupted"):
        c.sample(_kg(), num_neg=2**60)
    with pytest.raises(TypeError, match='positional'):
        c.sample(*_kg())
    with pytest.raises(ValueError, match="'side' must be one of"):
        c.index('relation')
    with pytest.raises(RuntimeError, match='no index of known triples'):
        UniformCorruption(filtered=False).fit(_kg()).index('head')
    with pytest.raises(TypeError, match="'seed' must be an int"):
        c.reseed(None)


def test_corrupted_triples_fields():
    neg = UniformCorruption(3, seed=0).fit(_kg()).sample(_kg())
    assert isinstance(neg, CorruptedTriples)
    assert neg._fields == ('head', 'relation', 'tail', 'head_replaced')
    assert neg.head_replaced.dtype == torch.bool
    assert neg.head.dtype == neg.relation.dtype == torch.long
    assert torch.equal(neg.relation, _kg()[1].view(-1, 1).expand(-1, 3))
