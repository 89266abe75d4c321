r"""The training loop's strategies on :math:`k`-hop regions, the
three-region principle of `"Region or Global? A Principle for Negative
Sampling in Graph-based Recommendation"
<https://ieeexplore.ieee.org/document/9723581>`_ (Yang et al., IEEE TKDE
2022): :obj:`recns` (:class:`RecNSStrategy`) and :obj:`mcns`
(:class:`MCNSStrategy`), registered in :obj:`STRATEGIES`.

The static :obj:`region` sampler
(:class:`~torch_geometric_negsamp.sampler.RegionSampler`) needs no class of
its own: it is a static strategy whose options come from
:obj:`~torch_geometric_negsamp.train.factories.SAMPLER_OPTIONS`. Both
strategies here draw from that same sampler (:attr:`base_sampler`), so the
region is built once, at the strategy's construction, from the training
interactions it is handed (never the validation or test ones).
"""

from typing import List, Optional, Tuple

import torch

from torch_geometric_negsamp._registry import normalize_name
from torch_geometric_negsamp.datasets import Exposure
from torch_geometric_negsamp.region import KHopRegion
from torch_geometric_negsamp.sampler import RegionSampler
from torch_geometric_negsamp.select import MCNS, RecNS
from torch_geometric_negsamp.train.strategy_base import (
    STRATEGIES,
    Negatives,
    Strategy,
)

#: The margin of RecNS's augmented hinge loss on sigmoid scores (the
#: authors' code, for LightGCN, NGCF and PinSage alike).
SIGMOID_HINGE_MARGIN = 0.1


def base_sampler(key: str) -> str:
    r"""The static sampler that strategy :obj:`key` draws from (its own
    name for a static sampler)."""
    if key in STRATEGIES:
        return getattr(STRATEGIES.get(key), 'base_sampler', 'uniform')
    return key


def config_options(key: str) -> Tuple[str, ...]:
    r"""The configuration fields that strategy :obj:`key` takes by
    keyword, beyond those of :class:`Strategy`."""
    if key in STRATEGIES:
        return tuple(getattr(STRATEGIES.get(key), 'config_options', ()))
    return ()


def load_exposure(
    path: Optional[str],
    simulate_top_n: Optional[int],
    train_index: torch.Tensor,
    num_users: int,
    num_items: int,
) -> Optional[Exposure]:
    r"""The exposure data of RecNS-W: read from the LightGCN-format file
    :obj:`path`, simulated (the :obj:`simulate_top_n` most popular items
    each user did not interact with, labelled simulated), or :obj:`None`.
    Training positives are removed from it."""
    if path is not None:
        return Exposure.from_lightgcn_file(
            path, num_users, num_items, train_index=train_index
        )
    if simulate_top_n is not None:
        return Exposure.simulate(
            train_index, num_users, num_items, simulate_top_n
        )
    return None


class _RegionStrategy(Strategy):
    r"""A strategy on the regions of the static :obj:`region` sampler
    (built at construction from :obj:`train_index`)."""

    base_sampler = 'region'
    config_options: Tuple[str, ...] = ()

    def __init__(self, train_index, num_users, num_items, **kwargs):
        kwargs.setdefault('base', self.base_sampler)
        super().__init__(train_index, num_users, num_items, **kwargs)
        self.region: KHopRegion = self.sampler.region()


@STRATEGIES.register('recns')
class RecNSStrategy(_RegionStrategy):
    r"""RecNS (:class:`~torch_geometric_negsamp.select.RecNS`): for each
    positive, a pool of :obj:`candidates` items of the user's intermediate
    region, :obj:`num_neg` RecNS-O negatives drawn from it by
    positive-assisted sampling (equation (7), :math:`\alpha` drawn per
    candidate as the authors' code does), merged in embedding space
    (equation (11)) with the RecNS-W item chosen among the user's exposed
    items (equations (8), (9)). Without exposure data, or for a user with
    none, the negatives are RecNS-O's alone. With the PinSage encoder
    (unit-norm embeddings) the merged embeddings are renormalised, as the
    authors' PinSage does.

    Trains with the augmented hinge loss of the paper,
    :math:`\max(0, \sigma(s^-) - \sigma(s^+) + 0.1)` (the loss
    :obj:`"sigmoid-hinge"`), whatever :obj:`loss` is configured; the L2
    term covers the RecNS-O negatives' ego embeddings, as in the code.

    Args:
        exposure (str, optional): An exposure file in the LightGCN format.
            (default: :obj:`None`)
        simulate_exposure (int, optional): Simulate exposures instead: each
            user's top-:obj:`simulate_exposure` most popular
            non-interacted training items (labelled simulated).
            (default: :obj:`None`)
        encoder (str, optional): The encoder's name. (default:
            :obj:`"lightgcn"`)
        **kwargs: Those of :class:`Strategy`.
    """

    forces_loss = 'sigmoid-hinge'
    config_options = ('exposure', 'simulate_exposure', 'encoder')

    def __init__(
        self,
        train_index,
        num_users,
        num_items,
        *,
        exposure: Optional[str] = None,
        simulate_exposure: Optional[int] = None,
        encoder: str = 'lightgcn',
        **kwargs,
    ):
        super().__init__(train_index, num_users, num_items, **kwargs)
        self._at_least('candidates', 1)
        self.exposure = load_exposure(
            exposure,
            simulate_exposure,
            train_index,
            num_users,
            num_items,
        )
        self.recns = RecNS(
            self.region,
            self.exposure,
            self.num_neg,
            self.candidates,
            renorm=normalize_name(encoder) == 'pinsage',
            distant_share=self.sampler.distant_share,
            generator=torch.Generator(),
        )
        self.selectors['recns'] = self.recns

    def negatives(self, users, pos, ctx):
        item_emb = ctx.item_emb
        out = self.recns(
            users,
            ctx.user_emb[users].detach(),
            item_emb[pos].detach(),
            item_emb,
        )
        return Negatives(out.emb, out.neg_ids)


@STRATEGIES.register('mcns')
class MCNSStrategy(_RegionStrategy):
    r"""MCNS (:class:`~torch_geometric_negsamp.select.MCNS`): one
    Metropolis-Hastings chain per user whose proposal mixes the global
    distribution with the user's intermediate region; the :obj:`num_neg`
    negatives of a positive are consecutive states of its user's chain
    (scored with the current embeddings, no gradient through the draw)."""

    def __init__(self, train_index, num_users, num_items, **kwargs):
        super().__init__(train_index, num_users, num_items, **kwargs)
        self.mcns = MCNS(
            self.sampler.index(), self.region, generator=torch.Generator()
        )
        self.selectors['mcns'] = self.mcns

    def negatives(self, users, pos, ctx):
        with torch.no_grad():
            ids = self.mcns(
                users,
                ctx.user_emb[users].detach(),
                ctx.item_emb.detach(),
                k=self.num_neg,
            )
        return Negatives(ctx.item_emb[ids], ids)


def strategy_notes(strategy: Strategy) -> List[str]:
    r"""Lines for the training log about a strategy on regions: the region
    built (pairs, bytes, seconds, users that draw from their distant region
    for want of an intermediate one) and the exposure data (labelled
    simulated when it is)."""
    lines = []
    if isinstance(strategy.sampler, RegionSampler):
        report = strategy.sampler.region_report()
        region = strategy.sampler.region()
        lines.append(
            f'region: k={region.k}, adjacent_hops={region.adjacent_hops}, '
            f'{report["pairs"]} intermediate pairs, '
            f'{report["nbytes"] / 2**20:.1f} MiB, built in '
            f'{report["seconds"]:.2f} s from the training interactions; '
            f'{report["fallback_sources"]} users draw from their distant '
            f'region (empty intermediate region)'
        )
    exposure = getattr(strategy, 'exposure', None)
    if isinstance(exposure, Exposure):
        lines.append(exposure.describe())
    elif isinstance(strategy, RecNSStrategy):
        lines.append('no exposure data: RecNS-O negatives alone')
    return lines


__all__ = [
    'RecNSStrategy',
    'MCNSStrategy',
    'SIGMOID_HINGE_MARGIN',
    'base_sampler',
    'config_options',
    'load_exposure',
    'strategy_notes',
]
