r"""RecNS-O: positive-assisted sampling from a pool of region candidates."""

from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from torch_geometric_negsamp._random import gumbel, uniform
from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_bool,
    check_choice,
    check_float_tensor,
    check_positive_int,
    check_probability,
    check_same_shape,
)
from torch_geometric_negsamp.select._checks import check_pool_embeddings
from torch_geometric_negsamp.select.selector import Selector

WEIGHTINGS = ('sigmoid', 'softmax')


def check_alpha(alpha, name: str = 'alpha') -> Optional[float]:
    r"""A fixed :math:`\alpha \in [0, 1]`, or :obj:`None` (drawn per
    candidate from :math:`\mathcal{U}(0, 1)`)."""
    return None if alpha is None else check_probability(alpha, name)


def check_embeddings(user_emb, pos_emb, cand_emb) -> None:
    r"""``user_emb`` and ``pos_emb`` ``[B, d]`` and ``cand_emb``
    ``[B, M, d]`` (:math:`M \geq 1`), floating point; values are checked by
    the caller (one host synchronisation for all)."""
    check_float_tensor(user_emb, 'user_emb', dim=2, finite=False)
    check_float_tensor(pos_emb, 'pos_emb', dim=2, finite=False)
    check_same_shape(pos_emb, 'pos_emb', user_emb, 'user_emb')
    check_pool_embeddings(cand_emb, 'cand_emb', user_emb)


def recns_o_draw(
    user_emb: Tensor,
    pos_emb: Tensor,
    cand_emb: Tensor,
    k: int,
    alpha: Optional[float] = None,
    weighting: str = 'sigmoid',
    generator: Optional[torch.Generator] = None,
) -> Tuple[Tensor, Tensor, Tensor]:
    r"""The draw of :class:`RecNSO` on checked, finite inputs (no checks
    here): returns ``(index [B, k], log_prob [B, k], alpha [B, M])``.
    Scores are computed without gradients."""
    B, M = cand_emb.shape[:2]
    with torch.no_grad():
        user = user_emb.detach().unsqueeze(-1)
        s_u = torch.bmm(cand_emb.detach(), user).squeeze(-1).double()
        s_v = torch.bmm(cand_emb.detach(), pos_emb.detach().unsqueeze(-1))
        s_v = s_v.squeeze(-1).double()
        if alpha is None:
            a = uniform((B, M), cand_emb.device, generator)
        else:
            a = torch.full_like(s_u, alpha)
        z = a * s_u + (1 - a) * s_v
        # Log-weights: log sigmoid(z) (eq. (7) as stated), or the logits
        # sigmoid(z) of the code's softmax draw.
        log_w = F.logsigmoid(z) if weighting == 'sigmoid' else torch.sigmoid(z)
        log_p = torch.log_softmax(log_w, dim=1)
        # k independent Gumbel-max draws: with replacement, exact in law.
        noise = gumbel((B, k, M), cand_emb.device, generator, torch.double)
        index = (log_w.unsqueeze(1) + noise).argmax(dim=2)
    return index, log_p.gather(1, index).to(cand_emb.dtype), a


class RecNSO(Selector):
    r"""RecNS-O, the positive-assisted sampling of Yang et al.,
    `"Region or Global? A Principle for Negative Sampling in Graph-based
    Recommendation" <https://ieeexplore.ieee.org/document/9723581>`_
    (IEEE TKDE 2022), equation (7): from a pool of :math:`M` candidates
    :math:`c_1, \dots, c_M` of user :math:`u` (drawn from its intermediate
    region, see :class:`~torch_geometric_negsamp.select.RecNS`), with
    positive item :math:`v`, draw :math:`k` negatives **with replacement**
    with probability

    .. math::
        P(c_m) \propto w_m, \qquad
        z_m = \alpha_m \, \mathbf{e}_u \cdot \mathbf{e}_{c_m}
            + (1 - \alpha_m) \, \mathbf{e}_v \cdot \mathbf{e}_{c_m},

    where :math:`w_m = \sigma(z_m)` (:obj:`weighting="sigmoid"`, the
    paper's stated law) or :math:`w_m = \exp(\sigma(z_m))`
    (:obj:`weighting="softmax"`: the authors' code passes
    :math:`\sigma(z_m)` to ``tf.multinomial``, which takes *logits*, so the
    law it realises is a softmax of the sigmoid, under which no candidate is
    more than :math:`e` times as likely as another). :math:`\alpha_m` is
    the fixed :obj:`alpha`, or, with :obj:`alpha=None` as in the code, drawn
    from :math:`\mathcal{U}(0, 1)` per candidate and per call (the same
    :math:`\alpha` serves the :math:`k` draws of a pool). The authors'
    settings are thus :obj:`alpha=None, weighting="softmax"`.

    Scores are computed on the given (final) embeddings under
    :func:`torch.no_grad`; gradients flow through the chosen negatives'
    embeddings in the loss. Draws are :math:`k` Gumbel-max draws through
    the selector's generator, exact in law.

    Returned with the positions is the exact :math:`\log P(c_m)` of each
    pick **given the pool** (and, with :obj:`alpha=None`, given the
    :math:`\alpha` drawn for it): the probability of the pool itself
    (uniform over the region) is the pool sampler's to add.

    Args:
        k (int, optional): Negatives per positive (drawn with replacement,
            so :math:`k` may exceed :math:`M`). (default: :obj:`15`, the
            paper's)
        alpha (float, optional): A fixed :math:`\alpha \in [0, 1]`, or
            :obj:`None` to draw it per candidate. (default: :obj:`None`)
        weighting (str, optional): :obj:`"sigmoid"` or :obj:`"softmax"`.
            (default: :obj:`"sigmoid"`)
        seed (int, optional): Seed of the selector's generator.
            (default: :obj:`None`)
        generator (torch.Generator, optional): A generator instead; without
            either, PyTorch's global generator. (default: :obj:`None`)

    Shapes: ``user_emb`` and ``pos_emb`` ``[B, d]``, ``cand_emb``
    ``[B, M, d]``; outputs ``[B, k]``. Every embedding must be finite.

    Example:
        >>> cand = region_pool(users)                            # [B, M]
        >>> index, log_prob = RecNSO(k=15, seed=0)(
        ...     user_emb[users], item_emb[pos], item_emb[cand])
        >>> neg = cand.gather(1, index)                          # [B, 15]
    """

    stochastic = True

    def __init__(
        self,
        k: int = 15,
        alpha: Optional[float] = None,
        weighting: str = 'sigmoid',
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__(seed, generator)
        self.k = check_positive_int(k, 'k')
        self.alpha = check_alpha(alpha)
        self.weighting = check_choice(weighting, 'weighting', WEIGHTINGS)

    def forward(
        self,
        user_emb: Tensor,
        pos_emb: Tensor,
        cand_emb: Tensor,
        return_alpha: bool = False,
    ) -> Union[Tuple[Tensor, Tensor], Tuple[Tensor, Tensor, Tensor]]:
        r"""Draws :math:`k` of the :math:`M` candidates per positive.

        Args:
            user_emb (torch.Tensor): ``[B, d]`` user embeddings.
            pos_emb (torch.Tensor): ``[B, d]`` positive item embeddings.
            cand_emb (torch.Tensor): ``[B, M, d]`` candidate embeddings.
            return_alpha (bool, optional): Also return the ``[B, M]``
                :math:`\alpha` used. (default: :obj:`False`)

        Returns:
            ``(index [B, k], log_prob [B, k])``: positions in ``[0, M)``
            and their log-probabilities given the pool (and
            ``alpha [B, M]`` with :obj:`return_alpha`).
        """
        check_embeddings(user_emb, pos_emb, cand_emb)
        check_bool(return_alpha, 'return_alpha')
        self._check_devices(
            user_emb=user_emb, pos_emb=pos_emb, cand_emb=cand_emb
        )
        check_all_finite(
            [user_emb, pos_emb, cand_emb], ['user_emb', 'pos_emb', 'cand_emb']
        )
        index, log_prob, alpha = recns_o_draw(
            user_emb,
            pos_emb,
            cand_emb,
            self.k,
            self.alpha,
            self.weighting,
            self.get_generator(),
        )
        if return_alpha:
            return index, log_prob, alpha.to(cand_emb.dtype)
        return index, log_prob

    def extra_repr(self) -> str:
        return f"k={self.k}, alpha={self.alpha}, weighting='{self.weighting}'"
