r"""RecNS-W: exposure-augmented selection with the self-amplified factor."""

import numbers
from typing import Callable, Optional, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_float_tensor,
    check_ids_in_range,
    check_index_tensor,
    check_int,
    check_positive_real,
)
from torch_geometric_negsamp.select._checks import check_pool_embeddings
from torch_geometric_negsamp.select.selector import Selector

OVERLAP = 'overlap_count'
Beta = Union[str, float, Callable[[int], float]]


def check_beta(beta: Beta, name: str = 'beta') -> Beta:
    r"""``'overlap_count'``, a positive float, or a callable of the
    epoch."""
    if isinstance(beta, str):
        if beta != OVERLAP:
            raise ValueError(
                f"'{name}' must be 'overlap_count', a positive float or a "
                f'callable of the epoch (got {beta!r})'
            )
        return beta
    if callable(beta):
        return beta
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
        raise TypeError(
            f"'{name}' must be 'overlap_count', a positive float or a "
            f'callable of the epoch (got {type(beta).__name__})'
        )
    return check_positive_real(beta, name)


def beta_repr(beta: Beta) -> str:
    r"""``beta=...`` for an ``extra_repr``: the value, or the function's
    name."""
    if callable(beta):
        beta = getattr(beta, '__name__', 'callable')
    return f'beta={beta!r}'


def beta_factor(beta: Beta, epoch: Optional[int]) -> Optional[float]:
    r"""The fixed factor of :obj:`beta` at :obj:`epoch` (:obj:`None` for
    ``'overlap_count'``); a callable's value is checked."""
    if isinstance(beta, str):
        return None
    if not callable(beta):
        return beta
    if epoch is None:
        raise ValueError(
            "'epoch' must be given when 'beta' is a callable of the epoch "
            '(got None)'
        )
    epoch = check_int(epoch, 'epoch', minimum=0)
    return check_positive_real(beta(epoch), f'beta({epoch})')


def overlap_beta(
    exposed: Tensor, candidates: Tensor, factor: Optional[float] = None
) -> Tensor:
    r"""The factors :math:`\beta_j` of equation (9) for the exposed items
    ``exposed`` ``[B, M]`` given the RecNS-O candidates ``candidates``
    ``[B, M']`` of the same rows (no checks here), as a float64 ``[B, M]``
    tensor.

    With :obj:`factor=None` (the authors' code, ``'overlap_count'``): let
    :math:`c` count the candidates that are also exposed,
    :math:`c = |\{ n \in C_u : n \in W_u \}|`; then :math:`\beta_j = c`
    for the exposed items :math:`w_j \in C_u` when :math:`c \geq 2`, and
    :math:`\beta_j = 1` otherwise. With a :obj:`factor`:
    :math:`\beta_j = \text{factor}` for :math:`w_j \in C_u`, :math:`1`
    otherwise.
    """
    # [B, M, M'] comparisons: the pools are small (the paper's M = 20).
    same = exposed.unsqueeze(2) == candidates.unsqueeze(1)
    in_cand = same.any(dim=2)  # w_j in C_u
    ones = torch.ones(exposed.shape, dtype=torch.double, device=exposed.device)
    if factor is not None:
        return torch.where(in_cand, factor, ones)
    count = same.any(dim=1).sum(dim=1, keepdim=True)  # c: n in W_u
    amplify = in_cand & (count >= 2)
    return torch.where(amplify, count.double(), ones)


def recns_w_pick(user_emb: Tensor, exp_emb: Tensor, beta: Tensor) -> Tensor:
    r"""``argmax_j sigmoid(beta_j e_u . e_{w_j})`` per row, as positions
    ``[B]`` (no checks; no gradient). The sigmoid is monotone, so the
    argmax is taken on :math:`\beta_j \, \mathbf{e}_u \cdot
    \mathbf{e}_{w_j}` itself, where a float sigmoid would saturate and
    tie; ties go to the first position."""
    with torch.no_grad():
        user = user_emb.detach().unsqueeze(-1)
        scores = torch.bmm(exp_emb.detach(), user).squeeze(-1).double()
        return (beta * scores).argmax(dim=1)


class RecNSW(Selector):
    r"""RecNS-W, the exposure-augmented sampling of Yang et al.,
    `"Region or Global? A Principle for Negative Sampling in Graph-based
    Recommendation" <https://ieeexplore.ieee.org/document/9723581>`_
    (IEEE TKDE 2022), equations (8) and (9): from :math:`M` items
    :math:`w_1, \dots, w_M` the user :math:`u` was exposed to but did not
    interact with, pick

    .. math::
        w^* = \arg\max_j \sigma(\beta_j \, \mathbf{e}_u \cdot
        \mathbf{e}_{w_j}),

    with the self-amplified factor :math:`\beta_j` of equation (9) as the
    authors' code computes it (:obj:`beta="overlap_count"`, see
    :func:`overlap_beta`): exposed items that are also among the user's
    RecNS-O candidates :math:`C_u` get their score multiplied by the
    number :math:`c` of such overlaps when :math:`c \geq 2`. The printed
    form of equation (9) and any schedule of :math:`\beta` are not known;
    a float (or a callable of the epoch returning one) is a fixed factor
    for the overlapping items instead (:math:`1.0` gives equation (8)
    without amplification: the highest-scored exposed item).

    As in the code, a negative score amplified by :math:`\beta_j > 1`
    makes the item *less* likely to win. The selection is a hard argmax on
    scores computed under :func:`torch.no_grad`; RecNS-W draws nothing at
    random and holds no tensor state.

    Args:
        beta (str, float or callable, optional): :obj:`"overlap_count"`, a
            positive float, or a function of the epoch returning one.
            (default: :obj:`"overlap_count"`)

    Shapes: ``user_emb`` ``[B, d]``, ``exp_emb`` ``[B, M, d]`` (the exposed
    items' embeddings), ``exposed`` ``[B, M]`` and ``candidates``
    ``[B, M']`` item ids; outputs ``[B]`` and ``[B, M]``.
    """

    def __init__(self, beta: Beta = OVERLAP):
        super().__init__()
        self.beta = check_beta(beta)

    def forward(
        self,
        user_emb: Tensor,
        exp_emb: Tensor,
        exposed: Tensor,
        candidates: Tensor,
        epoch: Optional[int] = None,
    ) -> Tuple[Tensor, Tensor]:
        r"""Picks one exposed item per row.

        Args:
            user_emb (torch.Tensor): ``[B, d]`` user embeddings.
            exp_emb (torch.Tensor): ``[B, M, d]`` embeddings of the exposed
                items.
            exposed (torch.Tensor): ``[B, M]`` ids of the exposed items.
            candidates (torch.Tensor): ``[B, M']`` ids of the RecNS-O
                candidates of the same rows.
            epoch (int, optional): The epoch, for a callable :obj:`beta`.
                (default: :obj:`None`)

        Returns:
            ``(index [B], beta [B, M])``: the chosen positions in
            ``[0, M)`` and the factors :math:`\beta_j` used.
        """
        check_float_tensor(user_emb, 'user_emb', dim=2, finite=False)
        check_pool_embeddings(
            exp_emb, 'exp_emb', user_emb, 'pool of exposed items'
        )
        B = user_emb.size(0)
        check_index_tensor(exposed, 'exposed', dim=2)
        check_index_tensor(candidates, 'candidates', dim=2)
        if exposed.shape != exp_emb.shape[:2]:
            raise ValueError(
                f"'exposed' must have shape {list(exp_emb.shape[:2])} (got "
                f'{list(exposed.shape)})'
            )
        if candidates.size(0) != B:
            raise ValueError(
                f"'candidates' must have shape [{B}, M'] (got "
                f'{list(candidates.shape)})'
            )
        factor = beta_factor(self.beta, epoch)
        self._check_devices(
            user_emb=user_emb,
            exp_emb=exp_emb,
            exposed=exposed,
            candidates=candidates,
        )
        check_ids_in_range(
            [
                ('exposed', exposed, None, 'item'),
                ('candidates', candidates, None, 'item'),
            ]
        )
        check_all_finite([user_emb, exp_emb], ['user_emb', 'exp_emb'])
        beta = overlap_beta(exposed, candidates, factor)
        index = recns_w_pick(user_emb, exp_emb, beta)
        return index, beta.to(exp_emb.dtype)

    def extra_repr(self) -> str:
        return beta_repr(self.beta)
