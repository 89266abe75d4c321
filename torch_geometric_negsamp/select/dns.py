r"""Dynamic negative sampling: the hardest candidates."""

from torch import Tensor

from torch_geometric_negsamp.select._utils import check_k, check_scores


class DNS:
    r"""Dynamic negative sampling of Zhang et al. (2013), "Optimizing top-n
    collaborative filtering via dynamic negative item sampling" (SIGIR):
    from a pool of :math:`M` candidates per positive, proposed by any static
    sampler, keep the :math:`k` the current model scores highest.

    The selection is a hard top-:math:`k`, done on scores computed under
    :func:`torch.no_grad`; gradients then flow through the embeddings of the
    chosen negatives in the loss.

    Args:
        k (int, optional): Negatives kept per positive. (default: :obj:`1`)

    Example:
        >>> cand = sampler.sample_negatives(users, num_neg=32)   # [B, 32]
        >>> with torch.no_grad():
        ...     scores = (user_emb[users, None] * item_emb[cand]).sum(-1)
        >>> neg = cand.gather(1, DNS(k=1)(scores))               # [B, 1]
    """

    def __init__(self, k: int = 1):
        self.k = check_k(k)

    def __call__(self, scores: Tensor) -> Tensor:
        r"""Returns the ``[B, k]`` positions (in ``[0, M)``) of the highest
        scores of ``scores`` ``[B, M]``."""
        scores = check_scores(scores)
        check_k(self.k, scores.size(1))
        return scores.topk(self.k, dim=1).indices

    def select(self, candidates: Tensor, scores: Tensor) -> Tensor:
        r"""Returns the ``[B, k]`` selected candidate ids from
        ``candidates`` ``[B, M]``."""
        if candidates.shape != scores.shape:
            raise ValueError(
                f"'candidates' must have the shape of 'scores' "
                f'{list(scores.shape)} (got '
                f'{list(candidates.shape)})'
            )
        return candidates.gather(1, self(scores))

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(k={self.k})'
