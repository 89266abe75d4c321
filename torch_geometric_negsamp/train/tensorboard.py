r"""Optional TensorBoard logging of a training run (the ``tensorboard``
extra): :class:`TensorBoardLogger`."""

import numbers
from typing import Dict, Optional

from torch_geometric_negsamp._validate import check_path

#: The tag group of each column prefix (the rest go under ``train/``).
_GROUPS = (('val_', 'val/'), ('test_', 'test/'), ('neg_', 'negatives/'))


def tag_of(key: str) -> str:
    r"""The TensorBoard tag of a history column (``val_recall@20`` ->
    ``val/recall@20``, ``neg_hardness`` -> ``negatives/hardness``,
    ``loss`` -> ``train/loss``)."""
    for prefix, group in _GROUPS:
        if key.startswith(prefix):
            return group + key[len(prefix) :]
    return 'train/' + key


class TensorBoardLogger:
    r"""Writes every numeric column of each evaluation row as a scalar
    (step: the row's :obj:`epoch`) through
    :class:`torch.utils.tensorboard.SummaryWriter`.

    Args:
        log_dir (str): The folder of the event files.

    Raises:
        ImportError: With the install command, when the :obj:`tensorboard`
            package is missing.
    """

    def __init__(self, log_dir: str):
        self.log_dir = check_path(log_dir, 'tensorboard')
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # an optional extra
            raise ImportError(
                "--tensorboard needs the 'tensorboard' package: pip install "
                "'torch_geometric_negsamp[tensorboard]'"
            ) from None
        self.writer: Optional[SummaryWriter] = SummaryWriter(self.log_dir)

    def log(self, row: Dict[str, object]) -> None:
        r"""Adds the numbers of :obj:`row` (:obj:`None` and text are
        skipped) at step :obj:`row["epoch"]`."""
        if self.writer is None:
            raise ValueError(f'the TensorBoard log {self.log_dir} is closed')
        step = int(row['epoch'])
        for key, value in row.items():
            if key == 'epoch' or isinstance(value, bool):
                continue
            if isinstance(value, numbers.Real):
                self.writer.add_scalar(tag_of(key), float(value), step)
        self.writer.flush()

    def close(self) -> None:
        r"""Flushes and closes the event file (again: nothing)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({self.log_dir!r})'


__all__ = ['TensorBoardLogger', 'tag_of']
