r"""The contract every :class:`NegativeSampler` keeps.

A test module of a sampler subclasses :class:`SamplerContract` (naming the
subclass ``Test...``) and sets :attr:`sampler_cls` (and :meth:`make` when
the sampler needs arguments): it then inherits the whole battery —
exactness, counts, exact log-probabilities, determinism, devices,
heterogeneous keys and every bad-input error. ``tests/test_meta.py`` fails
when a public sampler class has no such subclass.
"""

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare
from torch_geometric.data import HeteroData

from torch_geometric_negsamp import UnsatisfiableError

CONTRACTS = []


def random_bipartite(seed: int, num_src: int, num_dst: int, density: float):
    r"""A random ``num_src x num_dst`` graph plus one more source (the last)
    linked to every destination, so that every destination has a positive
    degree (weighted samplers never draw degree-zero nodes). Tests draw for
    the first :obj:`num_src` sources."""
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(num_src + 1, num_dst, generator=gen) < density
    mask[-1] = True
    return mask.nonzero().t(), mask


class SamplerContract:
    sampler_cls = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        CONTRACTS.append(cls)

    def make(self, *args, **kwargs):
        return self.sampler_cls(*args, **kwargs)

    # ------------------------------------------------------------ exactness
    # Each subclass runs the same property with its own sampler.
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.differing_executors],
    )
    @given(
        seed=st.integers(0, 2**31),
        num_src=st.integers(1, 7),
        num_dst=st.integers(2, 9),
        density=st.floats(0.0, 0.8),
        k=st.integers(1, 6),
    )
    def test_no_negative_is_a_positive(
        self, seed, num_src, num_dst, density, k
    ):
        edge_index, mask = random_bipartite(seed, num_src, num_dst, density)
        held = torch.tensor([[0], [num_dst - 1]])
        mask[0, num_dst - 1] = True
        sampler = self.make(seed=seed, on_unsatisfiable='drop')
        sampler.fit(edge_index, (num_src + 1, num_dst), extra_positives=held)
        src = torch.arange(num_src).repeat(3)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # dropped sources are counted
            neg, keep = sampler.sample_negatives(
                src, num_neg=k, return_mask=True
            )
        assert torch.equal(keep, ~mask.all(1)[src])
        assert neg.shape == (int(keep.sum()), k)
        assert neg.dtype == torch.long
        assert not bool(mask[src[keep].view(-1, 1), neg].any())

    def test_homogeneous_excludes_self_unless_allowed(self):
        edge_index = torch.tensor([[0, 1, 2], [1, 2, 0]])
        neg = (
            self.make(amount=50, seed=0)
            .fit(edge_index, 3)
            .sample_negatives(torch.tensor([0, 1, 2]))
        )
        assert not bool((neg == torch.arange(3).view(-1, 1)).any())
        assert neg[:, 0].tolist() == [2, 0, 1]  # the one candidate left
        if not self.allows_self:
            with pytest.raises(ValueError, match="'allow_self' must be"):
                self.make(allow_self=True)
            return
        neg = (
            self.make(amount=200, seed=0, allow_self=True)
            .fit(torch.tensor([[0, 1, 1], [1, 2, 0]]), 3)
            .sample_negatives(torch.tensor([2]))
        )
        if self.draws_everywhere:
            assert 2 in neg.tolist()[0]

    draws_everywhere = True  # every non-positive has positive probability
    # A sampler for which a self-negative or an unfiltered draw has no
    # meaning refuses allow_self=True / filtered=False with a ValueError
    # naming the argument; the contract checks the refusal instead.
    allows_self = True
    supports_unfiltered = True

    def test_binary_pairs_are_negatives(self):
        edge_index, mask = random_bipartite(3, 6, 8, 0.5)
        sampler = self.make('binary', seed=1).fit(edge_index, (7, 8))
        src, dst = sampler.sample_pairs(500)
        assert src.shape == dst.shape == (500,)
        assert not bool(mask[src, dst].any())

    def test_unsatisfiable_source_raises_or_drops(self):
        edge_index = torch.tensor([[0, 0, 0, 1], [0, 1, 2, 0]])
        sampler = self.make(seed=0).fit(edge_index, (2, 3))
        with pytest.raises(UnsatisfiableError, match='source node 0 has no'):
            sampler.sample_negatives(torch.tensor([1, 0]))
        with pytest.raises(UnsatisfiableError, match='source node 0'):
            sampler.check_sources(torch.tensor([0]))
        dropping = self.make(seed=0, on_unsatisfiable='drop')
        dropping.fit(edge_index, (2, 3))
        with pytest.warns(UserWarning, match='dropped 1 positive'):
            neg, keep = dropping.sample_negatives(
                torch.tensor([1, 0]), return_mask=True
            )
        assert keep.tolist() == [True, False] and neg.shape[0] == 1
        assert dropping.num_dropped == 1

    # ----------------------------------------------------- log-probabilities
    def test_log_prob_is_a_distribution_over_non_positives(self):
        edge_index, mask = random_bipartite(5, 4, 7, 0.4)
        mask = mask[:4]
        mask[:, 0] = False  # every source keeps a candidate
        edge_index = torch.cat([mask.nonzero().t(), edge_index[:, -7:]], 1)
        if not self.supports_unfiltered:
            with pytest.raises(ValueError, match="'filtered' must be True"):
                self.make(filtered=False)
        for filtered in (True, False)[: 1 + self.supports_unfiltered]:
            sampler = self.make(seed=0, filtered=filtered)
            sampler.fit(edge_index, (5, 7))
            src = torch.arange(4).view(-1, 1).expand(-1, 7)
            dst = torch.arange(7).view(1, -1).expand(4, -1)
            lp = sampler.log_prob(src, dst)
            assert lp.dtype == torch.float64 and lp.shape == (4, 7)
            total = lp.exp().sum(1)
            assert torch.allclose(total, torch.ones(4, dtype=torch.double))
            if filtered:
                assert bool(torch.isinf(lp[mask]).all())

    def test_draws_follow_log_prob(self):
        # A chi-square test with a fixed seed: the empirical frequency of
        # every destination matches exp(log_prob), per source.
        edge_index = torch.tensor([[0, 0, 1, 2, 2, 2], [1, 4, 0, 0, 1, 2]])
        sampler = self.make(seed=7, max_trials=1).fit(edge_index, (3, 6))
        num = 6000
        for u in range(3):
            src = torch.full((num,), u)
            neg, lp = sampler.sample_negatives(
                src[:1], num_neg=num, return_log_prob=True
            )
            expected = sampler.log_prob(torch.tensor([u]), torch.arange(6))
            p = expected.exp()
            assert torch.allclose(lp[0], expected[neg[0]], rtol=0, atol=1e-12)
            count = torch.bincount(neg[0], minlength=6).double()
            assert bool((count[p == 0] == 0).all())
            keep = p > 0
            if int(keep.sum()) == 1:
                continue
            _, pvalue = chisquare(count[keep].numpy(), (p[keep] * num).numpy())
            assert pvalue > 1e-4, (u, count.tolist(), p.tolist())

    # ----------------------------------------------------------- determinism
    def test_seeded_and_reproducible(self):
        edge_index, _ = random_bipartite(2, 5, 9, 0.3)
        src = torch.arange(5).repeat(4)

        def draw(seed):
            sampler = self.make(seed=seed).fit(edge_index, (6, 9))
            return sampler.sample_negatives(src, num_neg=4)

        assert torch.equal(draw(3), draw(3))
        assert not torch.equal(draw(3), draw(4))
        sampler = self.make(seed=3).fit(edge_index, (6, 9))
        first = sampler.sample_negatives(src, num_neg=4)
        sampler.reseed(3)
        assert torch.equal(sampler.sample_negatives(src, num_neg=4), first)
        gen = torch.Generator().manual_seed(11)
        a = self.make(generator=gen).fit(edge_index, (6, 9))
        b = self.make(seed=11).fit(edge_index, (6, 9))
        assert torch.equal(
            a.sample_negatives(src, num_neg=4),
            b.sample_negatives(src, num_neg=4),
        )

    def test_trusted_path_equals_checked_path(self):
        edge_index, _ = random_bipartite(8, 5, 9, 0.3)
        src = torch.arange(5)
        a = self.make(seed=2).fit(edge_index, (6, 9))
        b = self.make(seed=2).fit(edge_index, (6, 9))
        a.check_sources(src)
        assert torch.equal(
            a.sample_trusted(src, 6), b.sample_negatives(src, num_neg=6)
        )

    # ------------------------------------------------------- heterogeneous
    def test_hetero_extra_positives_accept_the_pyg_shorthand(self):
        data = HeteroData()
        data['user'].num_nodes = 2
        data['item'].num_nodes = 3
        data['user', 'rates', 'item'].edge_index = torch.tensor(
            [[0, 1, 1, 1], [0, 0, 1, 2]]
        )
        held = torch.tensor([[0], [1]])
        sampler = self.make(amount=100, seed=0)
        sampler.fit(data, extra_positives={('user', 'item'): held})
        neg = sampler.sample_negatives(
            torch.tensor([0]), edge_type=('user', 'item')
        )
        assert 1 not in neg.tolist()[0] and 0 not in neg.tolist()[0]
        with pytest.raises(ValueError, match="'extra_positives"):
            self.make().fit(data, extra_positives={('user', 'x'): held})
        with pytest.raises(ValueError, match="'edge_type' .* was not fitted"):
            sampler.sample_negatives(
                torch.tensor([0]), edge_type=('a', 'b', 'c')
            )

    # --------------------------------------------------------------- errors
    def test_bad_inputs_are_named(self):
        sampler = self.make()
        with pytest.raises(RuntimeError, match="call 'fit"):
            sampler.sample_negatives(torch.tensor([0]))
        with pytest.raises(ValueError, match="'edge_index' holds node index"):
            self.make().fit(torch.tensor([[1], [-1]]))
        with pytest.raises(TypeError, match="'edge_index' must hold integer"):
            self.make().fit(torch.tensor([[1.0], [0.0]]))
        sampler.fit(torch.tensor([[0, 1], [1, 2]]), 3)
        cases = [
            (dict(src=torch.tensor([3])), ValueError, "'src' holds node"),
            (dict(src=torch.tensor([-1])), ValueError, "'src' holds node"),
            (dict(src=torch.tensor([0.0])), TypeError, "'src' must hold"),
            (dict(src=torch.tensor([[0]])), ValueError, "'src' must have 1"),
            (dict(src=[0]), TypeError, "'src' must be a torch.Tensor"),
            (
                dict(src=torch.tensor([0], device='meta')),
                ValueError,
                "'src' is on meta",
            ),
            (
                dict(src=torch.tensor([0, 1]), dst_pos=torch.tensor([1])),
                ValueError,
                "'dst_pos' must have as many",
            ),
            (
                dict(src=torch.tensor([0]), dst_pos=torch.tensor([7])),
                ValueError,
                "'dst_pos' holds node index 7",
            ),
            (
                dict(src=torch.tensor([0]), num_neg=0),
                ValueError,
                "'num_neg' must be a positive",
            ),
            (
                dict(src=torch.tensor([0]), num_neg=True),
                TypeError,
                "'num_neg' must be an int",
            ),
            (
                dict(src=torch.arange(3).repeat(1000), num_neg=10**12),
                ValueError,
                "'num_neg' asks for .* GiB",
            ),
            (
                dict(src=torch.tensor([0]), return_mask='yes'),
                TypeError,
                "'return_mask' must be a bool",
            ),
        ]
        for kwargs, error, match in cases:
            with pytest.raises(error, match=match):
                sampler.sample_negatives(**kwargs)
        with pytest.raises(ValueError, match="'num_samples' must be a posit"):
            sampler.sample_pairs(0)
        with pytest.raises(ValueError, match="'num_samples' asks for"):
            sampler.sample_pairs(10**15)
        with pytest.raises(ValueError, match="'dst' holds node index 9"):
            sampler.log_prob(torch.tensor([0]), torch.tensor([9]))

    def test_fit_errors_are_named(self):
        edge_index = torch.tensor([[0], [1]])
        with pytest.raises(ValueError, match="'num_nodes' must be an int or"):
            self.make().fit(edge_index, (2, 2, 2))
        with pytest.raises(ValueError, match="'num_nodes\\[1\\]' must be a"):
            self.make().fit(edge_index, (2, 0))
        with pytest.raises(TypeError, match="'extra_positives' must be a"):
            self.make().fit(edge_index, 2, extra_positives={})
        with pytest.raises(ValueError, match="'edge_type' applies to Hetero"):
            self.make().fit(edge_index, 2, edge_type=('a', 'b', 'c'))

    def test_repr_names_the_class(self):
        assert repr(self.make()).startswith(self.sampler_cls.__name__ + '(')

    # --------------------------------------------------------------- device
    @pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
    def test_cuda_with_a_cpu_generator_matches_cpu(self):
        edge_index, mask = random_bipartite(4, 5, 9, 0.4)
        src = torch.arange(5).repeat(20)
        cpu = self.make(seed=1).fit(edge_index, (6, 9))
        gpu = self.make(seed=1).fit(edge_index.cuda(), (6, 9))
        neg = gpu.sample_negatives(src.cuda(), num_neg=3)
        assert neg.device.type == 'cuda'
        assert not bool(mask[src.view(-1, 1), neg.cpu()].any())
        assert cpu.sample_negatives(src, num_neg=3).shape == neg.shape
