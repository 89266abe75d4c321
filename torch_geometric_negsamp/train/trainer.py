r"""The training loop behind :obj:`negsamp-train`: :class:`Trainer`."""

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
from torch import Tensor

from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.losses import (
    l2_regularization,
    sampled_softmax_loss,
)
from torch_geometric_negsamp.train import checkpoint, factories, reporting
from torch_geometric_negsamp.train.config import TrainConfig
from torch_geometric_negsamp.train.ddp import DataParallel
from torch_geometric_negsamp.train.monitor import RunMonitor
from torch_geometric_negsamp.train.region_strategies import strategy_notes
from torch_geometric_negsamp.train.strategies import Context


@dataclass
class TrainResult:
    r"""The outcome of :meth:`Trainer.fit`: the evaluation history, the
    best evaluation (by the selection split) and where files were written."""

    history: List[Dict[str, float]] = field(default_factory=list)
    best: Optional[Dict[str, float]] = None
    selected_on: str = 'val'
    out_dir: str = ''
    #: The epoch the run stopped after, and why: :obj:`"epochs"` (all
    #: trained), :obj:`"patience"` (early stopping), :obj:`"time"`
    #: (:obj:`max_minutes` spent) or :obj:`"diverged"`.
    stop_epoch: int = 0
    stop_reason: str = 'epochs'


def epoch_seed(seed: int, epoch: int) -> int:
    r"""The seed every random choice of epoch :obj:`epoch` derives from."""
    return (seed * 1_000_003 + epoch * 7919 + 1) % (2**62)


class Trainer:
    r"""Trains a graph recommender with a negative strategy and a loss,
    evaluates it by full ranking, keeps the best checkpoint by the
    validation split, and can resume after an interruption.

    Every random choice is re-seeded at the start of each epoch from
    :obj:`(seed, epoch)` (:func:`epoch_seed`): the global generator with
    :math:`s`, the strategy with :math:`s + 11`, the encoder's own generator
    (if any) with :math:`s + 17`, the epoch's permutation of the training
    pairs with :math:`s + 23`, the diagnostics' sample with :math:`s + 29`.
    So a run resumed from the checkpoint of epoch :math:`e` continues
    exactly as the uninterrupted run would have.

    Every evaluation row also carries the negative diagnostics of its
    epoch (:class:`~torch_geometric_negsamp.train.monitor.RunMonitor`);
    with :obj:`config.patience` the run stops early and hands back the
    best weights; with :obj:`config.tensorboard` the rows go to
    TensorBoard too.

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
        self.device = config.resolve_device()
        # Under torchrun: the process group, rank 0 alone logs.
        self.parallel = DataParallel.from_env(self.device)
        self.log = self.parallel.gate(log)
        torch.manual_seed(config.seed)
        if split is None:
            split = factories.load_split(config)
        split = factories.prepare_split(config, split)
        config.check_fits(
            split.num_users, split.num_items, split.num_train, self.device
        )
        self.split = split.to(self.device)
        self.train_index = self.split.train_index
        self.model = factories.build_encoder(
            config, split, self.train_index, self.device
        ).to(self.device)
        self.strategy = factories.build_strategy_from_config(
            config,
            self.train_index,
            split.num_users,
            split.num_items,
            combine=lambda x: self.model.combine_layers(list(x.unbind(-2))),
        ).to(self.device)
        configured = factories.LOSSES.key(config.loss)
        self.loss_name = self.strategy.forces_loss or configured
        if self.loss_name != configured:
            self.log(
                f'note: sampler {config.sampler!r} trains with the '
                f'{self.loss_name!r} loss'
            )
        self.loss_fn = factories.build_loss(self.loss_name, config)
        for line in strategy_notes(self.strategy):
            self.log(line)
        # The strategy's own parameters (DENS's gates) train with the
        # encoder's:
        self.optimizer = torch.optim.Adam(
            list(self.model.parameters()) + self.strategy.parameters(),
            lr=config.lr,
        )
        # Under DDP the strategy's parameters are averaged with the
        # encoder's:
        self.parallel.wrap(self.model, self.strategy.parameters())
        # Rank 0 alone writes the TensorBoard log:
        self.monitor = RunMonitor(
            config
            if self.parallel.is_main
            else dataclasses.replace(config, tensorboard=None),
            self.split,
            self.strategy,
        )
        self.result = TrainResult(
            selected_on=config.select_on, out_dir=config.out_dir
        )
        self.best_state: Optional[Dict[str, Tensor]] = None
        self.epoch = 0
        self.train_seconds = 0.0
        self._fingerprint: Optional[str] = None
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
        self.monitor.diagnostics.begin_sampling()
        neg = self.strategy.negatives(users, pos, ctx)
        self.monitor.diagnostics.end_sampling()
        self.monitor.observe(users, pos, neg)
        if neg.neg_scores is not None:
            # The strategy scored its own negatives (in-batch, queue):
            loss = sampled_softmax_loss(
                neg.pos_scores,
                neg.neg_scores,
                config.softmax_loss_temperature,
                neg.log_q_pos,
                neg.log_q_neg,
                neg.accidental_hits,
                validate=False,
            )
        else:
            user_emb = ctx.user_emb[users]
            pos_scores = model.score(user_emb, ctx.item_emb[pos])
            neg_scores = model.score(user_emb, neg.emb)
            loss = self.loss_fn(pos_scores, neg_scores)
        if config.reg > 0:
            u0, p0 = model.reg_embeddings(users, pos)
            terms = [u0, p0]
            if neg.ids is not None:
                terms.append(model.reg_embeddings(users, neg.ids)[1])
            loss = loss + config.reg * l2_regularization(
                *terms, batch_size=users.numel(), validate=False
            )
        if neg.aux_loss is not None:  # e.g. DENS's gating loss
            loss = loss + neg.aux_loss
        return loss

    def train_step(self, users: Tensor, pos: Tensor) -> Tensor:
        r"""One optimisation step on the positive pairs
        :obj:`(users[i], pos[i])`; returns the (detached) loss."""
        self.monitor.diagnostics.begin_step()
        loss = self.parallel.forward(self._loss, users, pos)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.monitor.diagnostics.end_step()
        return loss.detach()

    def _reseed(self, epoch: int) -> torch.Generator:
        shared = epoch_seed(self.config.seed, epoch)
        seed = self.parallel.rank_seed(shared)  # distinct on every rank
        torch.manual_seed(seed)
        self.strategy.reseed(seed + 11)
        self.strategy.set_epoch(epoch)
        self.monitor.start_epoch(seed)
        generator = getattr(self.model, 'generator', None)
        if isinstance(generator, torch.Generator):
            generator.manual_seed(seed + 17)
        return torch.Generator().manual_seed(shared + 23)

    def train_epoch(self, epoch: int) -> float:
        r"""Runs one epoch over the shuffled training pairs; returns the
        mean loss, or raises :class:`FloatingPointError` when it is not
        finite."""
        self.model.train()
        generator = self._reseed(epoch)
        num = self.train_index.size(1)
        perm = torch.randperm(num, generator=generator).to(self.device)
        B = self.config.batch_size
        steps = self.parallel.batches(perm, B)
        bar = reporting.progress_bar(
            len(steps),
            f'epoch {epoch + 1}',
            self.config.progress and self.parallel.is_main,
        )
        # Summed on the device: one host synchronisation per epoch.
        total = torch.zeros((), device=self.device)
        for idx in steps:
            users, pos = self.train_index[0, idx], self.train_index[1, idx]
            total += self.train_step(users, pos)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        total = self.parallel.average(total)
        mean = float(total) / len(steps)
        if not math.isfinite(mean):
            raise FloatingPointError(
                f'the training loss became {mean} in epoch {epoch + 1}; '
                f'nothing of that epoch was saved; lower --lr or raise --reg'
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
        splits = [('test', self._test_mask, self.split.test_index)]
        if self.split.val_index is not None:
            splits.insert(0, ('val', self.train_index, self.split.val_index))
        for name, known, target in splits:
            metrics = self.parallel.evaluate_ranking(
                user_emb, item_emb, known, target, k=k, batch_size=bs
            )
            for m in ('recall', 'ndcg'):
                out[f'{name}_{m}@{k}'] = metrics[f'{m}@{k}']
        return out

    @property
    def test_known(self) -> Tensor:
        r"""The pairs masked when ranking for the test split (training and
        validation interactions), as :meth:`evaluate` masks them."""
        return self._test_mask

    # ------------------------------------------------------ checkpointing
    @property
    def checkpoint_path(self) -> str:
        return os.path.join(self.config.out_dir, 'checkpoint.pt')

    @property
    def best_path(self) -> str:
        return os.path.join(self.config.out_dir, 'best.pt')

    @property
    def fingerprint(self) -> str:
        r"""The :func:`~torch_geometric_negsamp.train.checkpoint.
        data_fingerprint` of the training data, stored in checkpoints."""
        if self._fingerprint is None:
            self._fingerprint = checkpoint.data_fingerprint(self.split)
        return self._fingerprint

    def save_checkpoint(self) -> None:
        r"""Writes the whole training state to :obj:`checkpoint_path`
        (atomically, with a checksum; refused if anything is
        non-finite)."""
        os.makedirs(self.config.out_dir, exist_ok=True)
        state = {
            'epoch': self.epoch,
            'train_seconds': self.train_seconds,
            'model': self.model.state_dict(),
            'optimizer': self.optimizer.state_dict(),
            'strategy': self.parallel.gather_state(self.strategy.state_dict()),
            'history': self.result.history,
            'best': self.result.best,
            'best_model': self.best_state,
            'config': self.config.to_dict(),
            'data': self.fingerprint,
        }
        if self.parallel.is_main:
            checkpoint.write_checkpoint(self.checkpoint_path, state)

    def load_checkpoint(self) -> bool:
        r"""Restores the checkpoint of :obj:`out_dir`; returns :obj:`False`
        if there is none. Raises
        :class:`~torch_geometric_negsamp.train.checkpoint.CheckpointError`
        (one line) for a damaged or foreign file, one trained with other
        settings, or on other data."""
        path = self.checkpoint_path
        if not os.path.lexists(path):
            return False
        state = checkpoint.read_checkpoint(path, map_location=self.device)
        checkpoint.check_resumable(state, self.config, self.fingerprint, path)
        try:
            self.model.load_state_dict(state['model'])
            self.optimizer.load_state_dict(state['optimizer'])
            self.strategy.load_state_dict(
                self.parallel.scatter_state(state['strategy'])
            )
            epoch, seconds = int(state['epoch']), float(state['train_seconds'])
            history = list(state['history'])
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            raise checkpoint.CheckpointError(
                f'cannot resume from {path}: its state does not fit this '
                f'run ({checkpoint.one_line(e, 200)}); delete it to start '
                f'afresh, or choose another --out'
            ) from None
        self.epoch, self.train_seconds = epoch, seconds
        self.result.history = history
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
        :obj:`curve.png` and the checkpoints under :obj:`out_dir`.

        Before the first epoch, :obj:`out_dir` is checked for writing, and
        :obj:`resume=True` without a checkpoint is an error."""
        config = self.config
        checkpoint.check_writable(config.out_dir)
        if config.resume:
            if not self.load_checkpoint():
                raise ValueError(
                    f'nothing to resume: {self.checkpoint_path} does not '
                    f'exist; train without --resume to start afresh'
                )
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
        try:
            self._train(deadline)
        except FloatingPointError:
            # The diverged epoch is not saved; what came before is.
            self.result.stop_reason = 'diverged'
            self._finish()
            raise
        self._finish()
        return self.result

    def _train(self, deadline: Optional[float]) -> None:
        config = self.config
        while self.epoch < config.epochs:
            reason = self.monitor.stop_reason(self.result.history)
            if reason is not None:
                self.result.stop_reason = 'patience'
                self.log(f'stopping after epoch {self.epoch}: {reason}')
                break
            start = time.monotonic()
            loss = self.train_epoch(self.epoch)
            self.train_seconds += time.monotonic() - start
            self.epoch += 1
            out_of_time = deadline is not None and time.monotonic() > deadline
            out_of_time = self.parallel.any(out_of_time)
            if (
                self.epoch % config.eval_every == 0
                or self.epoch == config.epochs
                or out_of_time
            ):
                self._record(loss)
            self.save_checkpoint()
            if out_of_time:
                self.result.stop_reason = 'time'
                self.log(
                    f'stopping: the {config.max_minutes} minute budget '
                    f'is spent'
                )
                break

    def _record(self, loss: float) -> None:
        metrics = self.evaluate()
        row = {
            'epoch': self.epoch,
            'train_seconds': self.train_seconds,
            'loss': loss,
            **metrics,
            **self.parallel.pool_columns(self.monitor.summary(self.model)),
        }
        self.result.history.append(row)
        self.monitor.log(row)
        key = self._selection_key()
        best = self.result.best
        if best is None or row[key] > best[key]:
            self.result.best = dict(row)
            self.best_state = {
                k: v.detach().clone()
                for k, v in self.model.state_dict().items()
            }
        self.log(
            reporting.epoch_line(self.epoch, self.train_seconds, loss, metrics)
            + self.monitor.line(row)
        )

    def _finish(self) -> None:
        config, best = self.config, self.result.best
        self.result.stop_epoch = self.epoch
        self.monitor.close()
        if config.patience and self.best_state is not None:
            # Early stopping hands back the selected model (on every rank):
            self.model.load_state_dict(self.best_state)
        if not self.parallel.is_main:
            return
        os.makedirs(config.out_dir, exist_ok=True)
        if self.best_state is not None:
            checkpoint.write_weights(self.best_path, self.best_state)
        reporting.write_reports(self)
        if best is not None:
            self.log(reporting.best_line(best, config.k, config.select_on))
