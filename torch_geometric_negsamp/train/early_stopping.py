r"""Early stopping of the training loop: :class:`EarlyStopping`."""

from typing import Dict, List, Optional

from torch_geometric_negsamp._validate import check_int


class EarlyStopping:
    r"""Stops training once the selection metric :obj:`key` has not
    improved for :obj:`patience` evaluations in a row.

    An evaluation improves when its :obj:`key` is strictly larger than
    every earlier one (as the best checkpoint is chosen). The rule reads the
    evaluation history alone, so a run resumed from a checkpoint stops
    exactly where the uninterrupted run would have.

    Args:
        patience (int, optional): Evaluations without improvement that stop
            the run; :obj:`None` never stops. (default: :obj:`None`)
        key (str, optional): The metric of every history row that is
            maximised. (default: :obj:`"val_recall@20"`)
    """

    def __init__(
        self, patience: Optional[int] = None, key: str = 'val_recall@20'
    ):
        if patience is not None:
            patience = check_int(patience, 'patience', minimum=1)
        if not isinstance(key, str):
            raise TypeError(f"'key' must be a str (got {type(key).__name__})")
        self.patience = patience
        self.key = key

    def evaluations_since_best(self, history: List[Dict[str, float]]) -> int:
        r"""The evaluations after the best one of :obj:`history` (0 when
        the last one is the best, or there is none)."""
        best_at, best = -1, None
        for i, row in enumerate(history):
            if best is None or row[self.key] > best:
                best_at, best = i, row[self.key]
        return 0 if best_at < 0 else len(history) - 1 - best_at

    def reason(self, history: List[Dict[str, float]]) -> Optional[str]:
        r"""Why the run stops after :obj:`history`, or :obj:`None` when it
        goes on."""
        if self.patience is None:
            return None
        since = self.evaluations_since_best(history)
        if since < self.patience:
            return None
        return (
            f'early stop: {self.key} has not improved for {since} '
            f'evaluations (patience {self.patience})'
        )

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(patience={self.patience}, '
            f'key={self.key!r})'
        )


__all__ = ['EarlyStopping']
