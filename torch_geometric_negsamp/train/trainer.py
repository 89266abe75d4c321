r"""The training loop behind :obj:`negsamp-train`."""

import csv
import dataclasses
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.losses import (
    bce_loss,
    bpr_loss,
    hinge_loss,
    l2_regularization,
    sampled_softmax_loss,
)
from torch_geometric_negsamp.metrics import evaluate_ranking
from torch_geometric_negsamp.train.strategies import (
    Context,
    build_strategy,
    strategy_names,
)

ENCODERS = ('lightgcn', 'ngcf', 'pinsage')
LOSSES = ('bpr', 'bce', 'hinge', 'softmax')
DATASETS = ('gowalla', 'yelp2018', 'amazon-book', 'folder')

#: Schedules: 'quick' fits the README's CPU run in minutes; 'paper' is the
#: LightGCN paper's setting (batch 2048, lr 1e-3, 1000 epochs).
PRESETS: Dict[str, Dict[str, object]] = {
    'quick': dict(batch_size=8192, lr=5e-3, epochs=20, eval_every=5),
    'paper': dict(batch_size=2048, lr=1e-3, epochs=1000, eval_every=20),
}

# Fields that change what is trained: a checkpoint resumes only when they
# agree with the current configuration.
_RESUME_KEYS = (
    'dataset',
    'data_root',
    'subset_users',
    'encoder',
    'sampler',
    'loss',
    'num_neg',
    'candidates',
    'temperature',
    'alpha',
    'embedding_dim',
    'num_layers',
    'lr',
    'batch_size',
    'reg',
    'margin',
    'val_fraction',
    'seed',
)


@dataclass
class TrainConfig:
    r"""Everything a training run depends on (see :obj:`negsamp-train
    --help` for each field)."""

    dataset: str = 'gowalla'
    data_root: Optional[str] = None
    subset_users: Optional[int] = None
    encoder: str = 'lightgcn'
    sampler: str = 'uniform'
    loss: str = 'bpr'
    num_neg: int = 1
    candidates: int = 32
    temperature: float = 1.0
    alpha: float = 0.75
    embedding_dim: int = 64
    num_layers: int = 3
    lr: float = 5e-3
    batch_size: int = 8192
    reg: float = 1e-4
    margin: float = 1.0
    epochs: int = 20
    eval_every: int = 5
    k: int = 20
    eval_batch_size: int = 1024
    val_fraction: float = 0.1
    select_on: str = 'val'
    device: str = 'auto'
    seed: int = 0
    out_dir: str = 'runs/default'
    resume: bool = False
    progress: bool = True
    max_minutes: Optional[float] = None
    plot: bool = True

    def validate(self) -> 'TrainConfig':
        r"""Raises :class:`ValueError` naming the first invalid field."""

        def positive(name, integer=True):
            value = getattr(self, name)
            ok = (
                isinstance(value, int)
                if integer
                else isinstance(value, (int, float))
            )
            if isinstance(value, bool) or not ok or not value > 0:
                kind = 'a positive integer' if integer else 'positive'
                raise ValueError(f"'{name}' must be {kind} (got {value!r})")

        if self.dataset not in DATASETS:
            raise ValueError(
                f"'dataset' must be one of {list(DATASETS)} "
                f'(got {self.dataset!r})'
            )
        if (
            self.dataset in ('yelp2018', 'amazon-book', 'folder')
            and not self.data_root
        ):
            raise ValueError(
                f"'data_root' is needed for dataset "
                f'{self.dataset!r} (a folder with train.txt and '
                f'test.txt)'
            )
        if self.encoder not in ENCODERS:
            raise ValueError(
                f"'encoder' must be one of {list(ENCODERS)} "
                f'(got {self.encoder!r})'
            )
        key = self.sampler.lower().replace('-', '').replace('_', '')
        if key not in strategy_names():
            raise ValueError(
                f"'sampler' must be one of {strategy_names()} "
                f'(got {self.sampler!r})'
            )
        if self.loss not in LOSSES:
            raise ValueError(
                f"'loss' must be one of {list(LOSSES)} (got {self.loss!r})"
            )
        for name in (
            'num_neg',
            'embedding_dim',
            'batch_size',
            'epochs',
            'eval_every',
            'k',
            'eval_batch_size',
        ):
            positive(name)
        for name in ('lr', 'temperature', 'margin'):
            positive(name, integer=False)
        if key in ('dns', 'softmax', 'mixgcf', 'cache'):
            positive('candidates')
            if key in ('dns', 'softmax') and self.candidates < self.num_neg:
                raise ValueError(
                    f"'candidates' ({self.candidates}) must be "
                    f"at least 'num_neg' ({self.num_neg})"
                )
        elif self.candidates < 0:
            raise ValueError(
                f"'candidates' must be non-negative (got {self.candidates})"
            )
        if (
            isinstance(self.num_layers, bool)
            or not isinstance(self.num_layers, int)
            or self.num_layers < 0
        ):
            raise ValueError(
                f"'num_layers' must be a non-negative integer "
                f'(got {self.num_layers!r})'
            )
        if self.subset_users is not None:
            positive('subset_users')
        if not (isinstance(self.reg, (int, float)) and self.reg >= 0):
            raise ValueError(f"'reg' must be non-negative (got {self.reg!r})")
        if not (isinstance(self.alpha, (int, float)) and self.alpha >= 0):
            raise ValueError(
                f"'alpha' must be non-negative (got {self.alpha!r})"
            )
        if not (
            isinstance(self.val_fraction, (int, float))
            and 0 <= self.val_fraction < 1
        ):
            raise ValueError(
                f"'val_fraction' must be in [0, 1) (got {self.val_fraction!r})"
            )
        if self.select_on not in ('val', 'test'):
            raise ValueError(
                f"'select_on' must be 'val' or 'test' (got {self.select_on!r})"
            )
        if self.select_on == 'val' and self.val_fraction == 0:
            raise ValueError(
                "'select_on=val' needs a validation split: set "
                "'val_fraction' > 0, or select on the test "
                "split explicitly ('select_on=test')"
            )
        if self.max_minutes is not None:
            positive('max_minutes', integer=False)
        if self.device != 'auto':
            try:
                device = torch.device(self.device)
            except RuntimeError as e:
                raise ValueError(
                    f"'device' is not a device: {self.device!r} ({e})"
                ) from None
            if device.type == 'cuda' and not torch.cuda.is_available():
                raise ValueError(
                    f"'device' is {self.device!r} but CUDA is not available"
                )
        return self


@dataclass
class TrainResult:
    r"""The outcome of :meth:`Trainer.fit`: the evaluation history, the
    best evaluation (by the selection split) and where files were written."""

    history: List[Dict[str, float]] = field(default_factory=list)
    best: Optional[Dict[str, float]] = None
    selected_on: str = 'val'
    out_dir: str = ''


def load_split(config: TrainConfig) -> InteractionSplit:
    r"""Loads the configured dataset as an :class:`InteractionSplit`."""
    from torch_geometric_negsamp.datasets import (
        AmazonBook,
        Yelp2018,
        load_gowalla,
    )

    if config.dataset == 'gowalla':
        split = load_gowalla(config.data_root)
    elif config.dataset == 'folder':
        root = config.data_root
        split = InteractionSplit.from_lightgcn_files(
            os.path.join(root, 'train.txt'), os.path.join(root, 'test.txt')
        )
    else:
        cls = Yelp2018 if config.dataset == 'yelp2018' else AmazonBook
        split = cls(config.data_root).split
    if config.subset_users is not None:
        split = split.subset(
            min(config.subset_users, split.num_users), seed=config.seed
        )
    return split


def build_encoder(
    config: TrainConfig,
    split: InteractionSplit,
    train_index: Tensor,
    device: torch.device,
):
    from torch_geometric_negsamp.nn import NGCF, LightGCN, PinSage

    U, I = split.num_users, split.num_items
    if config.encoder == 'lightgcn':
        return LightGCN(
            U,
            I,
            config.embedding_dim,
            config.num_layers,
            train_index=train_index,
        )
    if config.encoder == 'ngcf':
        return NGCF(
            U,
            I,
            config.embedding_dim,
            config.num_layers,
            train_index=train_index,
            generator=torch.Generator(device=device),
        )
    return PinSage(
        U,
        I,
        config.embedding_dim,
        max(config.num_layers, 1),
        train_index=train_index,
        generator=torch.Generator().manual_seed(config.seed),
    )


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch * 7919 + 1) % (2**62)


class Trainer:
    r"""Trains a graph recommender with a negative strategy and a loss,
    evaluates it by full ranking, keeps the best checkpoint by the
    validation split, and can resume after an interruption.

    Every random choice is re-seeded at the start of each epoch from
    :obj:`(seed, epoch)`, so a run resumed from the checkpoint of epoch
    :math:`e` continues exactly as the uninterrupted run would have.

    Args:
        config (TrainConfig): The run's configuration.
        log (callable, optional): Where progress lines go.
            (default: :func:`print`)
        split (InteractionSplit, optional): Use this data instead of
            loading :obj:`config.dataset`. (default: :obj:`None`)
    """

    def __init__(
        self,
        config: TrainConfig,
        log: Callable[[str], None] = print,
        split: Optional[InteractionSplit] = None,
    ):
        self.config = config.validate()
        self.log = log
        if config.device == 'auto':
            self.device = torch.device(
                'cuda' if torch.cuda.is_available() else 'cpu'
            )
        else:
            self.device = torch.device(config.device)
        torch.manual_seed(config.seed)
        split = split if split is not None else load_split(config)
        if config.val_fraction > 0:
            split = split.with_validation(
                config.val_fraction, seed=config.seed
            )
        self.split = split.to(self.device)
        self.train_index = self.split.train_index
        self.model = build_encoder(
            config, split, self.train_index, self.device
        ).to(self.device)
        U = split.num_users
        self.strategy = build_strategy(
            config.sampler,
            self.train_index,
            U,
            split.num_items,
            num_neg=config.num_neg,
            candidates=config.candidates,
            temperature=config.temperature,
            alpha=config.alpha,
            combine=lambda x: self.model.combine_layers(list(x.unbind(-2))),
        ).to(self.device)
        self.loss_name = self.strategy.forces_loss or config.loss
        if self.strategy.forces_loss and config.loss != self.loss_name:
            self.log(
                f'note: sampler {config.sampler!r} trains with the '
                f'{self.loss_name!r} loss'
            )
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config.lr
        )
        self.result = TrainResult(
            selected_on=config.select_on, out_dir=config.out_dir
        )
        self.best_state: Optional[Dict[str, Tensor]] = None
        self.epoch = 0
        self.train_seconds = 0.0
        # For the test evaluation, validation items are known interactions:
        self._test_mask = (
            self.train_index
            if split.val_index is None
            else torch.cat([self.train_index, self.split.val_index], dim=1)
        )

    # ---------------------------------------------------------------- step
    def _loss(self, users: Tensor, pos: Tensor) -> Tensor:
        model, config = self.model, self.config
        layers = model.layer_embeddings()
        final = model.combine_layers(layers)
        U = self.split.num_users
        ctx = Context(
            final[:U],
            final[U:],
            layers if self.strategy.needs_layers else None,
        )
        neg = self.strategy.negatives(users, pos, ctx)
        if neg.neg_scores is not None:
            loss = sampled_softmax_loss(
                neg.pos_scores,
                neg.neg_scores,
                config.temperature,
                neg.log_q_pos,
                neg.log_q_neg,
                neg.accidental_hits,
            )
        else:
            user_emb = ctx.user_emb[users]
            pos_scores = model.score(user_emb, ctx.item_emb[pos])
            neg_scores = model.score(user_emb, neg.emb)
            if self.loss_name == 'bpr':
                loss = bpr_loss(pos_scores, neg_scores)
            elif self.loss_name == 'bce':
                loss = bce_loss(pos_scores, neg_scores)
            elif self.loss_name == 'hinge':
                loss = hinge_loss(pos_scores, neg_scores, config.margin)
            else:
                loss = sampled_softmax_loss(
                    pos_scores, neg_scores, config.temperature
                )
        if config.reg > 0:
            u0, p0 = model.reg_embeddings(users, pos)
            terms = [u0, p0]
            if neg.ids is not None:
                terms.append(model.reg_embeddings(users, neg.ids)[1])
            loss = loss + config.reg * l2_regularization(
                *terms, batch_size=users.numel()
            )
        return loss

    def train_step(self, users: Tensor, pos: Tensor) -> Tensor:
        r"""One optimisation step on the positive pairs
        :obj:`(users[i], pos[i])`; returns the (detached) loss."""
        loss = self._loss(users, pos)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def _reseed(self, epoch: int) -> torch.Generator:
        seed = _epoch_seed(self.config.seed, epoch)
        torch.manual_seed(seed)
        self.strategy.reseed(seed + 11)
        generator = getattr(self.model, 'generator', None)
        if isinstance(generator, torch.Generator):
            generator.manual_seed(seed + 17)
        return torch.Generator().manual_seed(seed + 23)

    def train_epoch(self, epoch: int) -> float:
        r"""Runs one epoch over the shuffled training pairs; returns the
        mean loss."""
        self.model.train()
        generator = self._reseed(epoch)
        num = self.train_index.size(1)
        perm = torch.randperm(num, generator=generator).to(self.device)
        B = self.config.batch_size
        steps = range(0, num, B)
        bar = None
        if self.config.progress:
            try:
                from tqdm.auto import tqdm

                # disable=None: a bar only on a terminal, not in log files
                bar = tqdm(
                    total=len(steps),
                    desc=f'epoch {epoch + 1}',
                    leave=False,
                    unit='step',
                    disable=None,
                )
            except ImportError:  # progress bars are an optional extra
                bar = None
        total = torch.zeros((), device=self.device)
        for start in steps:
            idx = perm[start : start + B]
            users, pos = self.train_index[0, idx], self.train_index[1, idx]
            total += self.train_step(users, pos)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        mean = float(total) / len(steps)
        if not math.isfinite(mean):
            raise FloatingPointError(
                f'the training loss became {mean} at epoch {epoch + 1}; '
                f"lower 'lr' or raise 'reg'"
            )
        return mean

    # ---------------------------------------------------------- evaluation
    @torch.no_grad()
    def evaluate(self) -> Dict[str, float]:
        r"""Recall / NDCG at :obj:`k` on the validation (if any) and test
        splits, training items (and, for test, validation items) masked."""
        self.model.eval()
        user_emb, item_emb = self.model()
        k, bs = self.config.k, self.config.eval_batch_size
        out = {}
        if self.split.val_index is not None:
            val = evaluate_ranking(
                user_emb,
                item_emb,
                self.train_index,
                self.split.val_index,
                k=k,
                batch_size=bs,
            )
            out.update(
                {f'val_{m}@{k}': val[f'{m}@{k}'] for m in ('recall', 'ndcg')}
            )
        test = evaluate_ranking(
            user_emb,
            item_emb,
            self._test_mask,
            self.split.test_index,
            k=k,
            batch_size=bs,
        )
        out.update(
            {f'test_{m}@{k}': test[f'{m}@{k}'] for m in ('recall', 'ndcg')}
        )
        return out

    # ------------------------------------------------------ checkpointing
    @property
    def checkpoint_path(self) -> str:
        return os.path.join(self.config.out_dir, 'checkpoint.pt')

    def save_checkpoint(self) -> None:
        os.makedirs(self.config.out_dir, exist_ok=True)
        state = {
            'epoch': self.epoch,
            'train_seconds': self.train_seconds,
            'model': self.model.state_dict(),
            'optimizer': self.optimizer.state_dict(),
            'strategy': self.strategy.state_dict(),
            'history': self.result.history,
            'best': self.result.best,
            'best_model': self.best_state,
            'config': dataclasses.asdict(self.config),
        }
        tmp = self.checkpoint_path + '.tmp'
        torch.save(state, tmp)
        os.replace(tmp, self.checkpoint_path)  # never a half-written file

    def load_checkpoint(self) -> bool:
        r"""Restores the last checkpoint of :obj:`out_dir`; returns
        :obj:`False` if there is none."""
        if not os.path.exists(self.checkpoint_path):
            return False
        state = torch.load(
            self.checkpoint_path, map_location=self.device, weights_only=True
        )
        saved = state['config']
        for key in _RESUME_KEYS:
            if saved.get(key) != getattr(self.config, key):
                raise ValueError(
                    f'cannot resume from {self.checkpoint_path}: it was '
                    f'trained with {key}={saved.get(key)!r}, not '
                    f'{getattr(self.config, key)!r}'
                )
        self.model.load_state_dict(state['model'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.strategy.load_state_dict(state['strategy'])
        self.epoch = state['epoch']
        self.train_seconds = state['train_seconds']
        self.result.history = list(state['history'])
        self.result.best = state['best']
        self.best_state = state['best_model']
        return True

    # ---------------------------------------------------------------- fit
    def _selection_key(self) -> str:
        return f'{self.config.select_on}_recall@{self.config.k}'

    def fit(self) -> TrainResult:
        r"""Trains for :obj:`config.epochs` epochs (from the checkpoint with
        :obj:`resume=True`), evaluating every :obj:`eval_every` epochs and at
        the end; writes :obj:`metrics.csv`, :obj:`metrics.json`,
        :obj:`curve.png` and the checkpoints under :obj:`out_dir`."""
        config = self.config
        if config.resume and self.load_checkpoint():
            self.log(
                f'resumed from {self.checkpoint_path} after epoch {self.epoch}'
            )
        if config.select_on == 'test':
            self.log(
                'warning: the checkpoint is selected on the TEST split '
                '(the literature protocol); its test figures are '
                'optimistic'
            )
        deadline = (
            None
            if config.max_minutes is None
            else time.monotonic() + 60 * config.max_minutes
        )
        wall_start = time.monotonic()
        while self.epoch < config.epochs:
            start = time.monotonic()
            loss = self.train_epoch(self.epoch)
            self.train_seconds += time.monotonic() - start
            self.epoch += 1
            out_of_time = deadline is not None and time.monotonic() > deadline
            if (
                self.epoch % config.eval_every == 0
                or self.epoch == config.epochs
                or out_of_time
            ):
                self._record(loss, time.monotonic() - wall_start)
            self.save_checkpoint()
            if out_of_time:
                self.log(
                    f'stopping: the {config.max_minutes} minute budget '
                    f'is spent'
                )
                break
        self._finish()
        return self.result

    def _record(self, loss: float, wall: float) -> None:
        metrics = self.evaluate()
        row = {
            'epoch': self.epoch,
            'train_seconds': self.train_seconds,
            'loss': loss,
            **metrics,
        }
        self.result.history.append(row)
        key = self._selection_key()
        best = self.result.best
        if best is None or row[key] > best[key]:
            self.result.best = dict(row)
            self.best_state = {
                k: v.detach().clone()
                for k, v in self.model.state_dict().items()
            }
        parts = [
            f'epoch {self.epoch:4d}',
            f'{self.train_seconds:8.1f}s',
            f'loss {loss:.4f}',
        ]
        parts += [f'{k} {v:.4f}' for k, v in metrics.items()]
        self.log(' | '.join(parts))

    def _finish(self) -> None:
        config, best = self.config, self.result.best
        os.makedirs(config.out_dir, exist_ok=True)
        if self.best_state is not None:
            torch.save(
                self.best_state, os.path.join(config.out_dir, 'best.pt')
            )
        self._write_csv()
        with open(os.path.join(config.out_dir, 'metrics.json'), 'w') as f:
            json.dump(
                {
                    'config': dataclasses.asdict(config),
                    'device': str(self.device),
                    'history': self.result.history,
                    'best': best,
                    'selected_on': config.select_on,
                },
                f,
                indent=2,
            )
        if config.plot:
            self._plot()
        if best is not None:
            k = config.k
            label = (
                'validation'
                if config.select_on == 'val'
                else 'TEST (optimistic)'
            )
            self.log(
                f'best checkpoint (selected on {label}): epoch '
                f'{best["epoch"]}, test recall@{k} '
                f'{best[f"test_recall@{k}"]:.4f}, test ndcg@{k} '
                f'{best[f"test_ndcg@{k}"]:.4f}'
            )

    def _write_csv(self) -> None:
        history = self.result.history
        if not history:
            return
        with open(
            os.path.join(self.config.out_dir, 'metrics.csv'), 'w', newline=''
        ) as f:
            writer = csv.DictWriter(f, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)

    def _plot(self) -> None:
        history = self.result.history
        if not history:
            return
        try:
            import matplotlib

            matplotlib.use('Agg')
            import matplotlib.pyplot as plt
        except ImportError:
            warnings.warn(
                'matplotlib is not installed: no curve.png '
                "(pip install 'torch_geometric_negsamp[examples]')",
                stacklevel=2,
            )
            return
        k = self.config.k
        fig, axes = plt.subplots(2, 2, figsize=(10, 7))
        for col, (x_key, x_label) in enumerate(
            [('epoch', 'epoch'), ('train_seconds', 'training time (s)')]
        ):
            for row, metric in enumerate(('recall', 'ndcg')):
                ax = axes[row][col]
                x = [h[x_key] for h in history]
                for split in ('val', 'test'):
                    key = f'{split}_{metric}@{k}'
                    if key in history[0]:
                        ax.plot(
                            x,
                            [h[key] for h in history],
                            marker='o',
                            label=split,
                        )
                ax.set_xlabel(x_label)
                ax.set_ylabel(
                    f'{"Recall" if metric == "recall" else "NDCG"}@{k}'
                )
                ax.grid(alpha=0.3)
                ax.legend()
        fig.suptitle(
            f'{self.config.encoder} + {self.config.sampler} '
            f'negatives ({self.config.loss}) on '
            f'{self.config.dataset}'
        )
        fig.tight_layout()
        fig.savefig(os.path.join(self.config.out_dir, 'curve.png'), dpi=100)
        plt.close(fig)
