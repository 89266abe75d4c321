r"""The base of the training loop's negative strategies: what a strategy
hands the loss, the step's view of the model, the :class:`Strategy` base
class, the registry of model-aware strategies and the static one."""

from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Type,
)

import torch
from torch import Tensor

from torch_geometric_negsamp._registry import Registry
from torch_geometric_negsamp._validate import (
    check_callable,
    check_int,
    check_num_nodes,
    check_positive_int,
    check_temperature,
)
from torch_geometric_negsamp.sampler import (
    SAMPLERS,
    NegativeSampler,
    resolve_sampler,
)
from torch_geometric_negsamp.select import Selector
from torch_geometric_negsamp.select._scoring import candidate_scores


class Negatives(NamedTuple):
    r"""What a strategy hands the loss: ``emb`` ``[B, k, D]`` negative item
    embeddings (layers combined), ``ids`` ``[B, k]`` their item ids
    (:obj:`None` for synthetic ones), and the optional sampled-softmax
    extras."""

    emb: Tensor
    ids: Optional[Tensor]
    log_q_pos: Optional[Tensor] = None
    log_q_neg: Optional[Tensor] = None
    accidental_hits: Optional[Tensor] = None
    pos_scores: Optional[Tensor] = None
    neg_scores: Optional[Tensor] = None
    # Added for the hardness-controlling strategies and the diagnostics:
    # a loss term the strategy adds (DENS's gating loss), and the real item
    # ids behind neg_scores (``[B, N]`` or ``[N]`` shared by every row).
    aux_loss: Optional[Tensor] = None
    scored_ids: Optional[Tensor] = None
    # The real items synthetic negatives are made of (``[B, n]``):
    source_ids: Optional[Tensor] = None


class Context(NamedTuple):
    r"""One training step's view of the model: the final user and item
    embeddings and, for strategies that need them, the list of the
    :math:`L + 1` per-layer embeddings ``[U + I, d]``."""

    user_emb: Tensor
    item_emb: Tensor
    layers: Optional[List[Tensor]]

    def scores(self, users: Tensor, items: Tensor) -> Tensor:
        r"""The scores ``[B, *]`` of ``items`` ``[B, *]`` for ``users``
        ``[B]`` under the step's model, without autograd."""
        return candidate_scores(self.user_emb[users], self.item_emb, items)


#: The settings every strategy takes by keyword (see :class:`Strategy`),
#: named as :class:`~torch_geometric_negsamp.train.TrainConfig` names them.
STRATEGY_OPTIONS = (
    'num_neg',
    'candidates',
    'cache_size',
    'queue_size',
    'mixed_negatives',
    'temperature',
    'alpha',
    # The hardness-controlling strategies (see hard_strategies.py):
    'warmup_epochs',
    'embedding_dim',
)


class Strategy:
    r"""Base class: turns a batch of positives into negatives.

    A strategy owns a fitted static sampler and the selectors it builds
    (:attr:`selectors`, by name); it reaches them through their public
    methods only. Every size is validated here; each strategy checks that
    the sizes it uses are large enough.

    Args:
        train_index (torch.Tensor): ``[2, E]`` training (user, item) pairs.
        num_users (int): Number of users.
        num_items (int): Number of items.
        num_neg (int, optional): Negatives per positive :math:`k`.
            (default: :obj:`1`)
        candidates (int, optional): Candidate pool size :math:`M` per
            negative (DNS, softmax, MixGCF). (default: :obj:`32`)
        cache_size (int, optional): NSCaching cache per user, also the fresh
            candidates per refresh. (default: :obj:`32`)
        queue_size (int, optional): MoCo queue length. (default: :obj:`32`)
        mixed_negatives (int, optional): Uniform items mixed into the
            in-batch negatives (0: none). (default: :obj:`32`)
        temperature (float, optional): Softmax selector and cache
            temperature. (default: :obj:`1.0`)
        alpha (float, optional): Exponent of the popularity sampler.
            (default: :obj:`0.75`)
        combine (callable, optional): How MixGCF combines the layers of its
            synthetic negatives (as the encoder does). (default:
            :obj:`None`, the mean)
        base (str, optional): The static sampler. (default:
            :obj:`"uniform"`)
        sampler_options (dict, optional): Keyword arguments of the static
            sampler (e.g. :obj:`k` of the region sampler). (default:
            :obj:`None`)
        warmup_epochs (int, optional): The hardness warm-up in epochs
            (DNS, softmax: :class:`~torch_geometric_negsamp.select.
            HardnessSchedule`; DENS, SRNS: their own ramp); :obj:`None`:
            each strategy's default. (default: :obj:`None`)
        embedding_dim (int, optional): The size :math:`d` of every layer's
            embeddings (DENS's gates). (default: :obj:`64`)
    """

    needs_layers = False
    forces_loss: Optional[str] = None

    def __init__(
        self,
        train_index: Tensor,
        num_users: int,
        num_items: int,
        *,
        num_neg: int = 1,
        candidates: int = 32,
        cache_size: int = 32,
        queue_size: int = 32,
        mixed_negatives: int = 32,
        temperature: float = 1.0,
        alpha: float = 0.75,
        combine: Optional[Callable[[Tensor], Tensor]] = None,
        base: str = 'uniform',
        sampler_options: Optional[Mapping[str, Any]] = None,
        warmup_epochs: Optional[int] = None,
        embedding_dim: int = 64,
    ):
        self.num_users = check_num_nodes(num_users, 'num_users')
        self.num_items = check_num_nodes(num_items, 'num_items')
        self.num_neg = check_positive_int(num_neg, 'num_neg')
        self.candidates = check_int(candidates, 'candidates', minimum=0)
        self.cache_size = check_int(cache_size, 'cache_size', minimum=0)
        self.queue_size = check_int(queue_size, 'queue_size', minimum=0)
        self.mixed_negatives = check_int(
            mixed_negatives, 'mixed_negatives', minimum=0
        )
        self.temperature = check_temperature(temperature)
        self.combine = check_callable(combine, 'combine')
        popularity = SAMPLERS.key(base) == 'popularity'
        kwargs = {'alpha': alpha} if popularity else {}
        kwargs.update(sampler_options or {})
        self.sampler: NegativeSampler = resolve_sampler(base, **kwargs)
        self.sampler.fit(train_index, (num_users, num_items))
        # Every training user is checked once here, so that each step can
        # draw without per-call checks (and their host syncs on a GPU):
        self.sampler.check_sources(torch.unique(train_index[0]))
        self.selectors: Dict[str, Selector] = {}
        self.warmup_epochs = (
            None
            if warmup_epochs is None
            else check_int(warmup_epochs, 'warmup_epochs', minimum=0)
        )
        self.embedding_dim = check_positive_int(embedding_dim, 'embedding_dim')
        #: The current epoch (from 0), set by :meth:`set_epoch`.
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        r"""Tells the strategy the epoch :obj:`epoch` (from 0) that
        starts, for its warm-up."""
        self.epoch = check_int(epoch, 'epoch', minimum=0)

    def parameters(self) -> List[torch.nn.Parameter]:
        r"""The trainable parameters of the strategy's selectors (e.g.
        DENS's gates), to train with the encoder."""
        return [p for sel in self.selectors.values() for p in sel.parameters()]

    def _at_least(self, name: str, minimum: int, why: str = '') -> int:
        value = getattr(self, name)
        if value < minimum:
            raise ValueError(
                f"'{name}' must be at least {minimum}{why} for the "
                f'{self.__class__.__name__} (got {value})'
            )
        return value

    def reseed(self, seed: int) -> None:
        r"""Restarts the sampler's stream from :obj:`seed` and every
        selector's from :obj:`seed + 1`."""
        self.sampler.reseed(seed)
        for selector in self.selectors.values():
            selector.reseed(seed + 1)

    def to(self, device) -> 'Strategy':
        self.sampler.to(device)
        for selector in self.selectors.values():
            selector.to(device)
        return self

    def state_dict(self) -> Dict[str, Any]:
        r"""The selectors' state dicts, by name."""
        return {name: sel.state_dict() for name, sel in self.selectors.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping) or set(state) != set(self.selectors):
            got = sorted(state) if isinstance(state, Mapping) else state
            raise ValueError(
                f"'state' must hold the entries {sorted(self.selectors)} of "
                f'the {self.__class__.__name__} (got {got!r:.80})'
            )
        for name, selector in self.selectors.items():
            selector.load_state_dict(state[name])

    def negatives(self, users: Tensor, pos: Tensor, ctx: Context) -> Negatives:
        raise NotImplementedError


#: The model-aware strategies, by normalised name (the static samplers of
#: :obj:`SAMPLERS` are strategies too, see :func:`build_strategy`).
STRATEGIES: Registry[Type[Strategy]] = Registry('strategy', base=Strategy)


class StaticStrategy(Strategy):
    r"""Negatives drawn by a static sampler (uniform, popularity, ...)."""

    def negatives(self, users, pos, ctx):
        ids = self.sampler.sample_trusted(users, self.num_neg)
        return Negatives(ctx.item_emb[ids], ids)
