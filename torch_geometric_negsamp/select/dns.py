r"""Dynamic negative sampling: the hardest candidates."""

from torch import Tensor

from torch_geometric_negsamp._validate import (
    check_ids_in_range,
    check_index_tensor,
    check_positive_int,
    check_same_shape,
)
from torch_geometric_negsamp.select._checks import check_k_fits, check_scores
from torch_geometric_negsamp.select.selector import Selector


class DNS(Selector):
    r"""Dynamic negative sampling of Zhang et al. (2013), "Optimizing top-n
    collaborative filtering via dynamic negative item sampling" (SIGIR):
    from a pool of :math:`M` candidates per positive, proposed by any static
    sampler, keep the :math:`k` the current model scores highest,

    .. math::
        \mathcal{N}_i = \operatorname{top-}k_{m \in \{1, \dots, M\}}
        \; s_{im}.

    The selection is a hard top-:math:`k`, done on scores computed under
    :func:`torch.no_grad`; gradients then flow through the embeddings of the
    chosen negatives in the loss. DNS draws nothing at random and holds no
    tensor state.

    Args:
        k (int, optional): Negatives kept per positive. (default: :obj:`1`)

    Example:
        >>> cand = sampler.sample_negatives(users, num_neg=32)   # [B, 32]
        >>> with torch.no_grad():
        ...     scores = (user_emb[users, None] * item_emb[cand]).sum(-1)
        >>> neg = DNS(k=1).select(cand, scores)                  # [B, 1]
    """

    def __init__(self, k: int = 1):
        super().__init__()
        self.k = check_positive_int(k, 'k')

    def forward(self, scores: Tensor) -> Tensor:
        r"""Returns the ``[B, k]`` positions (in ``[0, M)``) of the highest
        of the finite ``scores`` ``[B, M]``, highest first."""
        check_scores(scores)
        check_k_fits(self.k, scores.size(1))
        return scores.topk(self.k, dim=1).indices

    def select(self, candidates: Tensor, scores: Tensor) -> Tensor:
        r"""Returns the ``[B, k]`` selected ids among the (non-negative)
        candidate ids ``candidates`` ``[B, M]`` scored ``scores``
        ``[B, M]``."""
        check_index_tensor(candidates, 'candidates', dim=2)
        check_scores(scores, finite=False)
        check_same_shape(candidates, 'candidates', scores, 'scores')
        check_k_fits(self.k, scores.size(1))
        self._check_devices(candidates=candidates, scores=scores)
        check_scores(scores)
        check_ids_in_range([('candidates', candidates, None, 'item')])
        return candidates.gather(1, scores.topk(self.k, dim=1).indices)

    def extra_repr(self) -> str:
        return f'k={self.k}'
