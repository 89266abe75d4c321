r"""What a training run shows and writes: the progress bar, the log lines,
:obj:`metrics.csv`, :obj:`metrics.json` and :obj:`curve.png`."""

import csv
import io
import json
import os
from typing import Dict, List, Optional

from torch_geometric_negsamp.train import plots
from torch_geometric_negsamp.train.checkpoint import atomic_write


def progress_bar(total: int, desc: str, enabled: bool = True):
    r"""A :mod:`tqdm` bar of :obj:`total` steps, shown only on a terminal;
    :obj:`None` when disabled or when :mod:`tqdm` (an optional extra) is
    missing."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress bars are an optional extra
        return None
    # disable=None: a bar only on a terminal, not in log files
    return tqdm(total=total, desc=desc, leave=False, unit='step', disable=None)


def epoch_line(
    epoch: int, seconds: float, loss: float, metrics: Dict[str, float]
) -> str:
    r"""The log line of one evaluation."""
    parts = [f'epoch {epoch:4d}', f'{seconds:8.1f}s', f'loss {loss:.4f}']
    parts += [f'{k} {v:.4f}' for k, v in metrics.items()]
    return ' | '.join(parts)


def best_line(best: Dict[str, float], k: int, select_on: str) -> str:
    r"""The log line of the selected evaluation."""
    label = 'validation' if select_on == 'val' else 'TEST (optimistic)'
    return (
        f'best checkpoint (selected on {label}): epoch {best["epoch"]}, '
        f'test recall@{k} {best[f"test_recall@{k}"]:.4f}, test ndcg@{k} '
        f'{best[f"test_ndcg@{k}"]:.4f}'
    )


def write_csv(path: str, history: List[Dict[str, float]]) -> None:
    r"""One row per evaluation (nothing is written for an empty
    :obj:`history`)."""
    if not history:
        return
    text = io.StringIO(newline='')
    writer = csv.DictWriter(text, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    atomic_write(path, text.getvalue().encode())


def write_json(
    path: str,
    config: Dict[str, object],
    device: str,
    history: List[Dict[str, float]],
    best: Optional[Dict[str, float]],
    selected_on: str,
) -> None:
    r"""The configuration, device, history and selected evaluation."""
    report = {
        'config': config,
        'device': device,
        'history': history,
        'best': best,
        'selected_on': selected_on,
    }
    atomic_write(path, json.dumps(report, indent=2).encode())


def plot_curves(
    path: str, history: List[Dict[str, float]], k: int, title: str
) -> bool:
    r"""Recall@k and NDCG@k (validation and test) against epochs and
    training time, and the negative diagnostics when the rows carry them;
    returns :obj:`False` (with a warning) when :mod:`matplotlib` is
    missing, or nothing was evaluated."""
    if not history:
        return False
    plt = plots.pyplot('curve.png')
    if plt is None:
        return False
    diagnostics = plots.has_diagnostics(history)
    rows = 5 if diagnostics else 2
    fig, axes = plt.subplots(rows, 2, figsize=(10, 3.5 * rows))
    axis = [('epoch', 'epoch'), ('train_seconds', 'training time (s)')]
    for col, (x_key, x_label) in enumerate(axis):
        for row, metric in enumerate(('recall', 'ndcg')):
            ax = axes[row][col]
            x = [h[x_key] for h in history]
            for split in ('val', 'test'):
                key = f'{split}_{metric}@{k}'
                if key in history[0]:
                    y = [h[key] for h in history]
                    ax.plot(x, y, marker='o', label=split)
            ax.set_xlabel(x_label)
            name = 'Recall' if metric == 'recall' else 'NDCG'
            ax.set_ylabel(f'{name}@{k}')
            ax.grid(alpha=0.3)
            ax.legend()
    if diagnostics:
        flat = [ax for row in axes[2:] for ax in row]
        plots.plot_diagnostics(flat, {'negatives': history})
        flat[-1].axis('off')
    fig.suptitle(title)
    plots.save_figure(plt, fig, path)
    return True


def write_reports(trainer) -> None:
    r"""Writes :obj:`metrics.csv`, :obj:`metrics.json` and (with
    :obj:`config.plot`) :obj:`curve.png` of a
    :class:`~torch_geometric_negsamp.train.Trainer` under its
    :obj:`out_dir`."""
    config, result = trainer.config, trainer.result
    out = config.out_dir
    write_csv(os.path.join(out, 'metrics.csv'), result.history)
    write_json(
        os.path.join(out, 'metrics.json'),
        config.to_dict(),
        str(trainer.device),
        result.history,
        result.best,
        config.select_on,
    )
    if config.plot:
        title = (
            f'{config.encoder} + {config.sampler} negatives '
            f'({config.loss}) on {config.dataset}'
        )
        plot_curves(
            os.path.join(out, 'curve.png'), result.history, config.k, title
        )
