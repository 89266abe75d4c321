r"""The figures of the training commands beyond the Recall / NDCG curves:
the negative diagnostics (in :obj:`curve.png`) and the comparison of
several samplers (:obj:`compare.png`)."""

import io
import warnings
from typing import List, Mapping, Optional, Sequence

from torch_geometric_negsamp.train.checkpoint import atomic_write

History = Sequence[Mapping[str, object]]

#: The diagnostic columns plotted, with their axis labels.
DIAGNOSTIC_PANELS = (
    ('neg_false_negative_rate', 'false-negative rate'),
    ('neg_hardness', 'hardness (percentile rank)'),
    ('neg_popularity_ratio', 'popularity: negatives / positives'),
    ('neg_sampling_share', 'sampling share of step time'),
    ('neg_short_rows', 'short or dropped rows'),
)


def pyplot(what: str):
    r""":mod:`matplotlib.pyplot` on the file backend, or :obj:`None` (with
    a warning naming :obj:`what`, the file not written) when
    :mod:`matplotlib` is missing."""
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        warnings.warn(
            f'matplotlib is not installed: no {what} '
            "(pip install 'torch_geometric_negsamp[examples]')",
            stacklevel=3,
        )
        return None
    return plt


def save_figure(plt, fig, path: str) -> None:
    r"""Writes :obj:`fig` to :obj:`path` as a PNG (atomically) and closes
    it."""
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=100)
    plt.close(fig)
    atomic_write(path, buffer.getvalue())


def has_diagnostics(history: History) -> bool:
    r"""Whether the rows of :obj:`history` carry the diagnostic columns."""
    return bool(history) and DIAGNOSTIC_PANELS[0][0] in history[0]


def _series(history: History, x_key: str, y_key: str):
    points = [
        (row[x_key], row[y_key])
        for row in history
        if isinstance(row.get(y_key), (int, float))
    ]
    return [x for x, _ in points], [y for _, y in points]


def plot_diagnostics(axes: List, histories: Mapping[str, History]) -> None:
    r"""Draws each diagnostic of :obj:`DIAGNOSTIC_PANELS` against epochs on
    one of :obj:`axes`, a line per labelled history (an unmeasured value,
    :obj:`None`, leaves a gap)."""
    for ax, (key, label) in zip(axes, DIAGNOSTIC_PANELS):
        for name, history in histories.items():
            x, y = _series(history, 'epoch', key)
            if x:
                ax.plot(x, y, marker='.', label=name)
        ax.set_xlabel('epoch')
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize='small')


def plot_comparison(
    path: str,
    histories: Mapping[str, History],
    selected: Mapping[str, Optional[int]],
    k: int,
    select_on: str,
    title: str,
) -> bool:
    r"""One figure of every sampler's curves: the selection Recall@k and
    the test Recall@k against epochs and training time, the test NDCG@k,
    and the diagnostics; the selected epoch of each sampler marked.
    Returns :obj:`False` (with a warning) when :mod:`matplotlib` is missing
    or nothing was evaluated."""
    if not any(histories.values()):
        return False
    plt = pyplot('compare.png')
    if plt is None:
        return False
    fig, axes = plt.subplots(4, 2, figsize=(11, 14))
    select_key = f'{select_on}_recall@{k}'
    panels = [
        ('epoch', select_key, f'{select_on} Recall@{k} (selection)'),
        ('train_seconds', select_key, f'{select_on} Recall@{k}'),
        ('epoch', f'test_recall@{k}', f'test Recall@{k}'),
        ('epoch', f'test_ndcg@{k}', f'test NDCG@{k}'),
    ]
    flat = [ax for row in axes for ax in row]
    for ax, (x_key, y_key, label) in zip(flat, panels):
        for name, history in histories.items():
            x, y = _series(history, x_key, y_key)
            if not x:
                continue
            (line,) = ax.plot(x, y, marker='.', label=name)
            best = selected.get(name)
            for row in history:
                if row.get('epoch') == best and y_key in row:
                    ax.plot(
                        row[x_key], row[y_key], marker='*', markersize=12,
                        color=line.get_color(),
                    )  # fmt: skip
        ax.set_xlabel(
            'training time (s)' if x_key == 'train_seconds' else 'epoch'
        )
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize='small')
    plot_diagnostics(flat[4:], histories)
    fig.suptitle(f'{title} (*: the selected epoch)')
    save_figure(plt, fig, path)
    return True


__all__ = [
    'DIAGNOSTIC_PANELS',
    'plot_comparison',
    'plot_diagnostics',
    'has_diagnostics',
]
