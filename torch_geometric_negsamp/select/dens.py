r"""Disentangled negative sampling (DENS): a learned gating module that
splits embeddings into relevant and irrelevant factors."""

import math
from typing import Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_all_finite,
    check_bool,
    check_float_tensor,
    check_ids_in_range,
    check_int,
    check_positive_int,
    check_real,
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
from torch_geometric_negsamp.select._scoring import gather_rows, row_blocks
from torch_geometric_negsamp.select.selector import Selector

# The rows of the gate parameters, as the reference code names its four
# nn.Linear(d, d) gates:
_USER, _ITEM, _POS, _NEG = range(4)


class DENS(Selector):
    r"""Disentangled negative sampling of Lai et al. (2023), "Disentangled
    Negative Sampling for Collaborative Filtering" (WSDM). A learned gating
    module splits every layer's embedding into the factors *relevant* to the
    user's choice of the positive and the *irrelevant* rest; the negative is
    picked, per layer (hop-wise), to be dissimilar to the user on the
    relevant factors and similar on the irrelevant ones.

    Four gates :math:`g_\ast(\mathbf{x}) = \mathbf{W}_\ast \mathbf{x} +
    \mathbf{b}_\ast` (:math:`d \times d`, as ``nn.Linear(d, d)``) act on
    the layer-:math:`l` embeddings of the user :math:`\mathbf{u}`, the
    positive :math:`\mathbf{p}` and each candidate :math:`\mathbf{n}_c`:

    .. math::
        \mathbf{p}^{r} = \mathbf{p} \odot \sigma\bigl(g_{item}(\mathbf{p}) +
        g_{user}(\mathbf{u})\bigr), \qquad
        \mathbf{n}^{r}_c = \mathbf{n}_c \odot \sigma\bigl(g_{neg}(
        \mathbf{n}_c) + g_{pos}(\mathbf{p}^{r})\bigr), \qquad
        \mathbf{x}^{ir} = \mathbf{x} - \mathbf{x}^{r}.

    **Selection** at epoch :math:`t` with warm-up :math:`T_w`, separately
    for every layer :math:`l`:

    .. math::
        c^\ast_l = \arg\max_c \; \mathbf{u}_l \cdot \bigl((1 - \min(1,
        t / T_w)) \, \mathbf{n}_{c,l} - \mathbf{n}^{r}_{c,l}\bigr),

    and the negative's layer :math:`l` is the raw candidate layer
    :math:`\mathbf{n}_{c^\ast_l, l}` (a synthetic negative when the layers
    pick different candidates); its layers are then combined as the
    encoder combines them. At :math:`t = 0` the rule maximises the
    irrelevant-factor score :math:`\mathbf{u} \cdot \mathbf{n}^{ir}`; after
    the warm-up it minimises the relevant-factor score.

    **Gating loss** (:meth:`gating_loss`, to add to the training loss; the
    gates learn from it alone, since the selection is not differentiated):
    on the layer-combined embeddings and scores :math:`s(\mathbf{x}) =
    \mathbf{u} \cdot \mathbf{x}`,

    .. math::
        \mathcal{L}_{g} = \frac{\gamma}{4} \Bigl[
        \ell(p^{r} \succ p^{ir}) + \ell(n^{ir} \succ n^{r})
        + \ell(p^{r} \succ n^{r}) + \ell(n^{ir} \succ p^{ir}) \Bigr],

    with :math:`\ell(a \succ b) = \operatorname{mean}_i \log(1 +
    \sum_k \exp(s(b) - s(a)))` over the :math:`k` negatives of each
    positive, as in the reference code (``Riwei-HEU/DENS``,
    ``modules/LightGCN.py``).

    DENS is a :class:`torch.nn.Module` whose parameters (``gate_weight``
    ``[4, d, d]``, ``gate_bias`` ``[4, d]``: the user, item, positive and
    negative gates, in that order) train with the encoder: hand them to the
    optimiser. They are initialised as ``nn.Linear`` initialises its
    parameters (from PyTorch's global generator: seed it for a reproducible
    start). The selection draws nothing at random.

    **Proposal probability.** The pick is an arg-max per layer (and often a
    synthetic item): DENS hands on no log-probability, and a sampled
    softmax trained with it runs without logQ correction.

    Args:
        dim (int): The embedding size :math:`d` of every layer.
        warmup (int, optional): The warm-up :math:`T_w` in epochs
            (:obj:`0`: none). (default: :obj:`100`, the reference code's)
        gamma (float, optional): The weight :math:`\gamma \geq 0` of the
            gating loss. (default: :obj:`0.3`)
        combine (str or callable, optional): How layers are combined:
            :obj:`"mean"` (LightGCN), :obj:`"concat"`, :obj:`"last"`, or a
            function from ``[..., L + 1, d]`` to ``[..., D]``.
            (default: :obj:`"mean"`)

    Shapes: ``user_layers`` and ``pos_layers`` ``[B, L + 1, d]``; candidates
    ``[B, M]`` / ``[B, M, L + 1, d]`` (one negative per positive) or
    ``[B, k, M]`` / ``[B, k, M, L + 1, d]``; negatives ``[B, k, L + 1, d]``.
    """

    def __init__(
        self,
        dim: int,
        warmup: int = 100,
        gamma: float = 0.3,
        combine: Combine = 'mean',
    ):
        super().__init__()
        self.dim = check_positive_int(dim, 'dim')
        self.warmup = check_int(warmup, 'warmup', minimum=0)
        self.gamma = check_real(gamma, 'gamma', minimum=0.0)
        self.combine = check_combine(combine)
        self.gate_weight = torch.nn.Parameter(torch.empty(4, dim, dim))
        self.gate_bias = torch.nn.Parameter(torch.empty(4, dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        r"""Initialises every gate as :class:`torch.nn.Linear` does."""
        bound = 1 / math.sqrt(self.dim)
        with torch.no_grad():
            for row in range(4):
                torch.nn.init.kaiming_uniform_(
                    self.gate_weight[row], a=math.sqrt(5)
                )
            torch.nn.init.uniform_(self.gate_bias, -bound, bound)

    # ---------------------------------------------------------------- gates
    def _gate(self, x: Tensor, row: int) -> Tensor:
        return F.linear(x, self.gate_weight[row], self.gate_bias[row])

    def _relevant(
        self, user: Tensor, pos: Tensor, cand: Tensor
    ) -> Tuple[Tensor, Tensor]:
        # user, pos [B, L + 1, d]; cand [B, k, M, L + 1, d] (or any shape
        # [B, *, L + 1, d]).
        pos_r = self._pos_relevant(user, pos)
        pre = self._gate(cand, _NEG) + self._pos_gate(pos_r, cand.dim())
        return pos_r, cand * torch.sigmoid(pre)

    def _pos_relevant(self, user: Tensor, pos: Tensor) -> Tensor:
        return pos * torch.sigmoid(
            self._gate(pos, _ITEM) + self._gate(user, _USER)
        )

    def _pos_gate(self, pos_r: Tensor, cand_dim: int) -> Tensor:
        # g_pos(p^r) [B, L + 1, d], viewed to broadcast over candidates of
        # cand_dim dimensions [B, *, L + 1, d].
        lead = (pos_r.size(0),) + (1,) * (cand_dim - 3) + pos_r.shape[1:]
        return self._gate(pos_r, _POS).view(lead)

    def relevant(
        self, user_layers: Tensor, pos_layers: Tensor, cand_layers: Tensor
    ) -> Tuple[Tensor, Tensor]:
        r"""The relevant factors :math:`(\mathbf{p}^r, \mathbf{n}^r)` of the
        positives ``[B, L + 1, d]`` and of the candidates (or negatives)
        ``[B, *, L + 1, d]``; the irrelevant ones are the differences."""
        B, L1, d = self._check_inputs(user_layers, pos_layers)
        check_float_tensor(cand_layers, 'cand_layers', finite=False)
        if (
            cand_layers.dim() < 3
            or cand_layers.size(0) != B
            or cand_layers.shape[-2:] != (L1, d)
        ):
            raise ValueError(
                f"'cand_layers' must have shape [{B}, *, {L1}, {d}] (got "
                f'{list(cand_layers.shape)})'
            )
        self._check_devices(cand_layers=cand_layers)
        return self._relevant(user_layers, pos_layers, cand_layers)

    def _check_inputs(self, user_layers, pos_layers):
        B, L1, d = check_layers(user_layers, pos_layers)
        if d != self.dim:
            raise ValueError(
                f"'user_layers' must have embedding size {self.dim}, the "
                f"gates' 'dim' (got {d})"
            )
        self._check_devices(user_layers=user_layers, pos_layers=pos_layers)
        return B, L1, d

    def ramp(self, epoch: int) -> float:
        r""":math:`\min(1, t / T_w)` at epoch :obj:`epoch` (1 without
        warm-up)."""
        epoch = check_int(epoch, 'epoch', minimum=0)
        return 1.0 if self.warmup == 0 else min(1.0, epoch / self.warmup)

    @torch.no_grad()
    def _choose(self, user, pos, cand, ramp: float) -> Tensor:
        # cand [B, k, M, L + 1, d] -> the chosen candidate per layer
        # [B, k, L + 1].
        _, cand_r = self._relevant(user, pos, cand)
        scores = (user[:, None, None] * ((1 - ramp) * cand - cand_r)).sum(-1)
        return scores.argmax(dim=2)

    @torch.no_grad()
    def _choose_ids(self, user, pos, rows, inverse, ramp: float) -> Tensor:
        # The choice of _choose from the distinct candidates' layers rows
        # [Q, L + 1, d] and inverse [B, k, M] (the row of every candidate):
        # the candidate gate g_neg depends on the candidate alone, so it is
        # computed once per distinct item instead of once per (positive,
        # candidate) pair, and the elementwise steps of _choose run in
        # place, in the same order, over blocks of positives whose
        # [b, k, M, L + 1, d] temporaries stay small.
        neg_gate = self._gate(rows, _NEG)
        pos_gate = self._pos_gate(self._pos_relevant(user, pos), 5)
        out = []
        for rows_of in row_blocks(
            inverse.size(0),
            inverse[:1].numel() * rows[:1].numel(),
            inverse.device,
        ):
            idx = inverse[rows_of]
            cand_r = gather_rows(neg_gate, idx)
            cand_r.add_(pos_gate[rows_of]).sigmoid_()
            cand = gather_rows(rows, idx)
            cand_r.mul_(cand)
            cand.mul_(1 - ramp).sub_(cand_r).mul_(user[rows_of, None, None])
            out.append(cand.sum(-1).argmax(dim=2))
        return torch.cat(out, dim=0)

    # ------------------------------------------------------------ selection
    def forward(
        self,
        user_layers: Tensor,
        pos_layers: Tensor,
        cand_layers: Tensor,
        epoch: int,
    ) -> Tensor:
        r"""Returns the chosen candidate position (in ``[0, M)``) per
        negative and layer, ``[B, k, L + 1]``, from the candidates' layers
        ``[B, M, L + 1, d]`` or ``[B, k, M, L + 1, d]`` at epoch
        :obj:`epoch`."""
        B, L1, d = self._check_inputs(user_layers, pos_layers)
        cand = check_candidate_layers(cand_layers, B, L1, d)
        ramp = self.ramp(epoch)
        self._check_devices(cand_layers=cand)
        check_all_finite(
            [user_layers, pos_layers, cand],
            ['user_layers', 'pos_layers', 'cand_layers'],
        )
        return self._choose(
            user_layers.detach(), pos_layers.detach(), cand.detach(), ramp
        )

    def synthesize(
        self,
        user_layers: Tensor,
        pos_layers: Tensor,
        item_layers: Union[Tensor, Sequence[Tensor]],
        candidates: Tensor,
        epoch: int,
        return_ids: bool = False,
    ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""The negatives' layers ``[B, k, L + 1, d]`` from candidate *ids*:
        layer :math:`l` of negative :math:`j` is layer :math:`l` of its
        chosen candidate :math:`c^\ast_l`, gathered with gradients (the
        choice itself is not differentiated).

        Args:
            user_layers (torch.Tensor): ``[B, L + 1, d]``.
            pos_layers (torch.Tensor): ``[B, L + 1, d]``.
            item_layers (torch.Tensor or list): ``[I, L + 1, d]``, all
                items, or the list of the :math:`L + 1` per-layer ``[I, d]``
                tensors.
            candidates (torch.Tensor): ``[B, M]`` or ``[B, k, M]`` item ids
                in ``[0, I)``.
            epoch (int): The current epoch :math:`t \geq 0`.
            return_ids (bool, optional): Also return the ``[B, k, L + 1]``
                ids of the candidate chosen per negative and layer.
                (default: :obj:`False`)
        """
        return_ids = check_bool(return_ids, 'return_ids')
        B, L1, d = self._check_inputs(user_layers, pos_layers)
        layers = check_item_layers(item_layers, L1, d)
        candidates = check_candidate_ids(candidates, B)
        ramp = self.ramp(epoch)
        self._check_devices(item_layers=layers[0], candidates=candidates)
        check_ids_in_range(
            [('candidates', candidates, layers[0].size(0), 'item')]
        )
        with torch.no_grad():
            # The distinct candidates' layers [Q, L + 1, d], Q <= I:
            ids, inverse = torch.unique(candidates, return_inverse=True)
            rows = torch.stack([layer.detach()[ids] for layer in layers], 1)
        check_all_finite(
            [user_layers, pos_layers, rows],
            ['user_layers', 'pos_layers', 'item_layers'],
        )
        choice = self._choose_ids(
            user_layers.detach(), pos_layers.detach(), rows, inverse, ramp
        )
        chosen = candidates.gather(2, choice)  # [B, k, L + 1] item ids
        out = torch.stack(
            [layer[chosen[..., l]] for l, layer in enumerate(layers)], dim=2
        )
        return (out, chosen) if return_ids else out

    def combine_layers(self, layers: Tensor) -> Tensor:
        r"""Combines layers ``[..., L + 1, d]`` as :obj:`combine` says
        (e.g. the negatives of :meth:`synthesize`, for the loss)."""
        return combine_layers(layers, self.combine)

    # ----------------------------------------------------------------- loss
    def gating_loss(
        self, user_layers: Tensor, pos_layers: Tensor, neg_layers: Tensor
    ) -> Tensor:
        r"""The gating loss :math:`\mathcal{L}_g` (weighted by
        :math:`\gamma`) of the positives and their negatives' layers
        ``[B, k, L + 1, d]`` (or ``[B, L + 1, d]`` for :math:`k = 1`), as a
        scalar to add to the training loss. Gradients reach the gates and
        the embeddings."""
        B, L1, d = self._check_inputs(user_layers, pos_layers)
        check_float_tensor(neg_layers, 'neg_layers', finite=False)
        if neg_layers.dim() == 3:
            neg_layers = neg_layers.unsqueeze(1)
        if neg_layers.dim() != 4 or neg_layers.shape != (
            B,
            neg_layers.size(1),
            L1,
            d,
        ):
            raise ValueError(
                f"'neg_layers' must have shape [{B}, k, {L1}, {d}] (got "
                f'{list(neg_layers.shape)})'
            )
        self._check_devices(neg_layers=neg_layers)
        pos_r, neg_r = self._relevant(user_layers, pos_layers, neg_layers)

        combined = self.combine_layers
        user = combined(user_layers)  # [B, D]
        s_pr = (user * combined(pos_r)).sum(-1)  # [B]
        s_pir = (user * combined(pos_layers - pos_r)).sum(-1)
        s_nr = (user[:, None] * combined(neg_r)).sum(-1)  # [B, k]
        s_nir = (user[:, None] * combined(neg_layers - neg_r)).sum(-1)
        terms = (
            _ranking(s_pr.unsqueeze(1), s_pir.unsqueeze(1)),
            _ranking(s_nir, s_nr),
            _ranking(s_pr.unsqueeze(1), s_nr),
            _ranking(s_nir, s_pir.unsqueeze(1)),
        )
        return self.gamma * sum(terms) / 4

    def extra_repr(self) -> str:
        return (
            f'dim={self.dim}, warmup={self.warmup}, gamma={self.gamma}, '
            f'{combine_repr(self.combine)}'
        )


def _ranking(better: Tensor, worse: Tensor) -> Tensor:
    r""":math:`\operatorname{mean}_i \log(1 + \sum_k \exp(worse_{ik} -
    better_{ik}))` (broadcast over ``[B, k]``), from the differences."""
    diff = worse - better
    zero = diff.new_zeros(diff.size(0), 1)
    return torch.logsumexp(torch.cat([zero, diff], dim=1), dim=1).mean()
