r"""MixGCF: hard negatives synthesised in embedding space."""

from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from torch_geometric_negsamp._random import uniform
from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_bool,
    check_ids_in_range,
)
from torch_geometric_negsamp.select._layers import (
    Combine,
    check_candidate_ids,
    check_candidate_layers,
    check_combine,
    check_item_layers,
    check_layers,
    combine_layers,
    combine_repr,
)
from torch_geometric_negsamp.select._scoring import candidate_scores
from torch_geometric_negsamp.select.selector import Selector


class MixGCF(Selector):
    r"""Synthesises hard negative item embeddings as in Huang et al. (2021),
    "MixGCF: An Improved Training Method for Graph Neural Network-based
    Recommender Systems" (KDD).

    Given, per positive pair, the per-layer embeddings of the user
    :math:`\mathbf{e}_u^{(l)}`, of the positive item
    :math:`\mathbf{e}_{v^+}^{(l)}` and of :math:`M` candidate items
    :math:`\mathbf{e}_{v_m}^{(l)}` (layers :math:`l = 0, \dots, L`):

    1. **positive mixing** injects the positive into every candidate, with a
       coefficient drawn per positive and layer,

       .. math::
           \mathbf{e}'^{(l)}_{v_m} = \alpha^{(l)} \mathbf{e}^{(l)}_{v^+} +
           (1 - \alpha^{(l)}) \mathbf{e}^{(l)}_{v_m},
           \qquad \alpha^{(l)} \sim \mathcal{U}(0, 1);

    2. **hop mixing** takes, at every layer, the mixed candidate the user
       scores highest,
       :math:`\mathbf{e}^{(l)}_{v^-} = \mathbf{e}'^{(l)}_{v_{m_l}}` with
       :math:`m_l = \arg\max_m \mathbf{e}^{(l)}_u \cdot
       \mathbf{e}'^{(l)}_{v_m}`, and the layers are combined as the encoder
       combines them (mean for LightGCN, concatenation for NGCF).

    The choice :math:`m_l` is not differentiated; gradients reach the
    positive's and the chosen candidates' layer embeddings through the
    mixture, as in the reference implementation.

    Args:
        combine (str or callable, optional): :obj:`"mean"`, :obj:`"concat"`,
            :obj:`"last"`, or a function from ``[B, k, L + 1, d]`` to
            ``[B, k, D]``. (default: :obj:`"mean"`)
        seed, generator (optional): The random stream drawing
            :math:`\alpha`, as in
            :class:`~torch_geometric_negsamp.select.Selector`.

    Shapes: ``user_layers`` and ``pos_layers`` ``[B, L + 1, d]``, candidates
    ``[B, M, L + 1, d]`` (one negative per positive) or
    ``[B, k, M, L + 1, d]`` (:math:`k` negatives, each from its own pool of
    :math:`M`); the output ``[B, k, D]`` (:math:`D = d`, or
    :math:`(L + 1) d` for :obj:`"concat"`). Every embedding that takes part
    must be finite.
    """

    stochastic = True

    def __init__(
        self,
        combine: Combine = 'mean',
        seed: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ):
        super().__init__(seed, generator)
        self.combine = check_combine(combine)

    def _draw_alpha(self, B: int, k: int, L1: int, device, dtype) -> Tensor:
        return uniform(
            (B, k, 1, L1, 1), device, self.get_generator(), torch.float32
        ).to(dtype)

    def forward(
        self,
        user_layers: Tensor,
        pos_layers: Tensor,
        cand_layers: Tensor,
        return_details: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor, Tensor]]:
        r"""Synthesises the negatives from the candidates' embeddings.

        Args:
            user_layers (torch.Tensor): ``[B, L + 1, d]``.
            pos_layers (torch.Tensor): ``[B, L + 1, d]``.
            cand_layers (torch.Tensor): ``[B, M, L + 1, d]`` (one negative
                per positive) or ``[B, k, M, L + 1, d]`` (:math:`k`
                negatives, each from its own pool of :math:`M`).
            return_details (bool, optional): Also return :math:`\alpha`
                ``[B, k, L + 1]`` and the chosen candidate per layer
                ``[B, k, L + 1]``. (default: :obj:`False`)

        Returns:
            ``[B, k, D]`` synthetic negative embeddings (layers combined).
        """
        B, L1, d = check_layers(user_layers, pos_layers)
        check_bool(return_details, 'return_details')
        cand_layers = check_candidate_layers(cand_layers, B, L1, d)
        self._check_devices(
            user_layers=user_layers,
            pos_layers=pos_layers,
            cand_layers=cand_layers,
        )
        check_all_finite(
            [user_layers, pos_layers, cand_layers],
            ['user_layers', 'pos_layers', 'cand_layers'],
        )
        k = cand_layers.size(1)
        alpha = self._draw_alpha(
            B, k, L1, user_layers.device, cand_layers.dtype
        )
        mixed = alpha * pos_layers[:, None, None] + (1 - alpha) * cand_layers
        with torch.no_grad():
            scores = (user_layers[:, None, None] * mixed).sum(-1)
            choice = scores.argmax(dim=2)  # [B, k, L + 1]
        index = choice[:, :, None, :, None].expand(-1, -1, 1, -1, d)
        chosen = mixed.gather(2, index).squeeze(2)  # [B, k, L + 1, d]
        out = combine_layers(chosen, self.combine)
        if return_details:
            return out, alpha.view(B, k, L1), choice
        return out

    def synthesize(
        self,
        user_layers: Tensor,
        pos_layers: Tensor,
        item_layers: Union[Tensor, Sequence[Tensor]],
        candidates: Tensor,
        return_ids: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""The same synthesis from candidate *ids*: equal to
        ``self(user_layers, pos_layers, item_layers[candidates])`` (same
        generator state, same result and gradients, up to floating-point
        ties between candidates), but the :math:`M` candidates are scored
        without autograd and only the chosen ones are gathered with
        gradients, which saves the memory and time of the
        ``[B, k, M, L + 1, d]`` tensor's backward.

        Args:
            user_layers (torch.Tensor): ``[B, L + 1, d]``.
            pos_layers (torch.Tensor): ``[B, L + 1, d]``.
            item_layers (torch.Tensor or list): ``[I, L + 1, d]``, all
                items, or the list of the :math:`L + 1` per-layer ``[I, d]``
                tensors (which spares stacking the whole table).
            candidates (torch.Tensor): ``[B, M]`` or ``[B, k, M]`` item ids
                in ``[0, I)``.
            return_ids (bool, optional): Also return the ``[B, k, L + 1]``
                ids of the candidate chosen per negative and layer (the
                real items the synthetic negatives are made of).
                (default: :obj:`False`)

        Returns:
            ``[B, k, D]`` synthetic negative embeddings (layers combined),
            and the chosen ids with :obj:`return_ids=True`.
        """
        return_ids = check_bool(return_ids, 'return_ids')
        B, L1, d = check_layers(user_layers, pos_layers)
        layers = check_item_layers(item_layers, L1, d)
        candidates = check_candidate_ids(candidates, B)
        self._check_devices(
            user_layers=user_layers,
            pos_layers=pos_layers,
            item_layers=layers[0],
            candidates=candidates,
        )
        check_ids_in_range(
            [('candidates', candidates, layers[0].size(0), 'item')]
        )
        with torch.no_grad():
            user = user_layers.detach()
            # <u, a p + (1 - a) c> = a <u, p> + (1 - a) <u, c>, per layer:
            up = (user * pos_layers.detach()).sum(-1)  # [B, L + 1]
            uc = torch.stack(
                [
                    candidate_scores(user[:, l], layer, candidates)
                    for l, layer in enumerate(layers)
                ],
                dim=-1,
            )  # [B, k, M, L + 1]
        # Non-finite user, positive or candidate rows show in the scores:
        if not bool(torch.isfinite(up).all() & torch.isfinite(uc).all()):
            check_all_finite(
                [user_layers, pos_layers], ['user_layers', 'pos_layers']
            )
            raise ValueError(
                "'item_layers' must be finite at the rows of 'candidates' "
                '(got non-finite or overflowing scores against '
                "'user_layers')"
            )
        k = candidates.size(1)
        alpha = self._draw_alpha(B, k, L1, user_layers.device, layers[0].dtype)
        with torch.no_grad():
            a = alpha.squeeze(-1)  # [B, k, 1, L + 1]
            scores = a * up[:, None, None] + (1 - a) * uc
            choice = scores.argmax(dim=2)  # [B, k, L + 1]
        chosen_ids = candidates.gather(2, choice)  # [B, k, L + 1]
        chosen = torch.stack(
            [layer[chosen_ids[..., l]] for l, layer in enumerate(layers)],
            dim=2,
        )  # [B, k, L + 1, d]
        a = alpha.squeeze(2)  # [B, k, L + 1, 1]
        mixed = a * pos_layers[:, None] + (1 - a) * chosen
        if return_ids:
            return combine_layers(mixed, self.combine), chosen_ids
        return combine_layers(mixed, self.combine)

    def extra_repr(self) -> str:
        return combine_repr(self.combine)
