r"""Hard negatives in a hand-written LightGCN training loop.

Uses the library's pieces directly, without the :obj:`Trainer`, on a slice of
the embedded Gowalla split (:meth:`InteractionSplit.subset`):

1. a filtered :class:`UniformSampler` proposes a pool of ``M`` candidates per
   positive (never a training positive);
2. a selector picks the negatives from the current embeddings:

   * ``dns``: the top-``k`` scored candidates (Zhang et al., SIGIR 2013);
   * ``softmax``: ``k`` candidates drawn by softmax(score / T) (Sun et al.,
     ICLR 2019);
   * ``mixgcf``: synthetic negatives mixed from the positive and the
     candidates, layer by layer (Huang et al., KDD 2021);
   * ``inbatch``: the batch's other positive items plus ``M`` uniform mixed
     items, accidental hits masked, logQ-corrected (Yi et al., RecSys 2019);
   * ``uniform``: no selection, the first ``k`` candidates (the baseline);

3. a BPR (Rendle et al., 2009) or sampled-softmax loss with LightGCN's L2
   term trains LightGCN (He et al., SIGIR 2020);
4. :func:`evaluate_ranking` ranks all items for every user and prints
   Recall@20 / NDCG@20.

Run::

    python examples/hard_negatives_custom_loop.py --method dns --epochs 10
"""

import argparse
import time

import torch

from torch_geometric_negsamp import UniformSampler
from torch_geometric_negsamp.datasets import load_gowalla
from torch_geometric_negsamp.losses import (
    bpr_loss,
    l2_regularization,
    sampled_softmax_loss,
)
from torch_geometric_negsamp.metrics import evaluate_ranking
from torch_geometric_negsamp.nn import LightGCN
from torch_geometric_negsamp.select import (
    DNS,
    InBatchNegatives,
    MixGCF,
    SoftmaxSelector,
    item_log_frequency,
)

METHODS = ('uniform', 'dns', 'softmax', 'mixgcf', 'inbatch')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--method',
        choices=METHODS,
        default='dns',
        help='how negatives are selected (default: dns)',
    )
    parser.add_argument(
        '--loss',
        choices=('bpr', 'softmax'),
        default='bpr',
        help='training loss; inbatch always uses sampled '
        'softmax (default: bpr)',
    )
    parser.add_argument(
        '--users',
        type=int,
        default=1000,
        help='users in the Gowalla slice (default: 1000)',
    )
    parser.add_argument('--epochs', type=int, default=10)
    parser.add_argument('--batch-size', type=int, default=2048)
    parser.add_argument(
        '--candidates',
        type=int,
        default=32,
        help='candidate pool size M; for inbatch, the number of uniform '
        'mixed items (default: 32)',
    )
    parser.add_argument(
        '--num-neg',
        type=int,
        default=1,
        help='negatives per positive k (default: 1)',
    )
    parser.add_argument(
        '--temperature',
        type=float,
        default=1.0,
        help='softmax selector / softmax loss temperature (default: 1.0)',
    )
    parser.add_argument('--dim', type=int, default=64)
    parser.add_argument('--layers', type=int, default=3)
    parser.add_argument('--lr', type=float, default=5e-3)
    parser.add_argument('--reg', type=float, default=1e-4)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    for name in (
        'users',
        'epochs',
        'batch_size',
        'candidates',
        'num_neg',
        'dim',
    ):
        if getattr(args, name) <= 0:
            parser.error(
                f'--{name.replace("_", "-")} must be positive '
                f'(got {getattr(args, name)})'
            )
    if args.layers < 0:
        parser.error(f'--layers must be non-negative (got {args.layers})')
    if args.temperature <= 0 or args.lr <= 0 or args.reg < 0:
        parser.error(
            '--temperature and --lr must be positive and --reg non-negative'
        )
    if (
        args.method in ('uniform', 'dns', 'softmax')
        and args.candidates < args.num_neg
    ):
        parser.error(
            f'--candidates ({args.candidates}) must be at least '
            f'--num-neg ({args.num_neg}) for --method '
            f'{args.method}'
        )
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)  # embedding initialisation
    split = load_gowalla().subset(args.users, seed=args.seed)
    U, I = split.num_users, split.num_items
    train, test = split.train_index, split.test_index
    print(f'data: {split}')

    model = LightGCN(U, I, args.dim, args.layers, train_index=train)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    sampler = UniformSampler(seed=args.seed).fit(train, num_nodes=(U, I))
    index = sampler.index()  # the sampler's PositiveIndex of (user, item)
    k, M = args.num_neg, args.candidates
    dns = DNS(k)
    softmax = SoftmaxSelector(k, args.temperature, seed=args.seed)
    mixgcf = MixGCF(
        combine='mean', seed=args.seed
    )  # LightGCN averages its layers
    in_batch = InBatchNegatives(index, item_log_frequency(train, I), I)
    loss_name = 'softmax' if args.method == 'inbatch' else args.loss
    print(f'method {args.method} (pool M={M}, k={k}), loss {loss_name}')

    gen = torch.Generator().manual_seed(args.seed)
    false_neg = 0
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(train.size(1), generator=gen)
        total = 0.0
        for step in range(0, perm.numel(), args.batch_size):
            users, pos = train[:, perm[step : step + args.batch_size]]
            layers = model.layer_embeddings()  # L + 1 x [U + I, d]
            final = model.combine_layers(layers)  # [U + I, d]
            user_emb, item_emb = final[:U], final[U:]
            u = user_emb[users]  # [B, d]
            pos_score = model.score(u, item_emb[pos])  # [B]
            neg_ids, log_q_pos, log_q_neg, hits = None, None, None, None

            if args.method == 'inbatch':
                # M uniform items mixed into every row's negatives (mixed
                # negative sampling); the known positives of each row are
                # masked.
                mixed = torch.randint(I, (M,), generator=gen)
                out = in_batch(
                    users,
                    pos,
                    u,
                    item_emb[pos],
                    mixed_items=mixed,
                    mixed_emb=item_emb[mixed],
                )
                pos_score, neg_score = out.pos, out.neg
                log_q_pos, log_q_neg = out.log_q_pos, out.log_q_neg
                hits = out.accidental_hits
            elif args.method == 'mixgcf':
                cand = sampler.sample_negatives(users, num_neg=k * M)
                stack = torch.stack(layers, dim=1)  # [U + I, L + 1, d]
                cand_layers = stack[U + cand].view(
                    len(users), k, M, *stack.shape[1:]
                )
                neg_emb = mixgcf(stack[users], stack[U + pos], cand_layers)
                neg_score = model.score(u, neg_emb)  # [B, k]
            else:
                cand = sampler.sample_negatives(users, num_neg=M)  # [B, M]
                if args.method == 'uniform':
                    neg_ids = cand[:, :k]
                else:
                    with torch.no_grad():
                        scores = model.score(u, item_emb[cand])  # [B, M]
                    if args.method == 'dns':
                        neg_ids = dns.select(cand, scores)
                    else:
                        neg_ids = cand.gather(1, softmax(scores)[0])
                neg_score = model.score(u, item_emb[neg_ids])  # [B, k]
                false_neg += int(
                    index.contains(users.view(-1, 1), neg_ids).sum()
                )

            if loss_name == 'bpr':
                loss = bpr_loss(pos_score, neg_score)
            else:
                loss = sampled_softmax_loss(
                    pos_score,
                    neg_score,
                    args.temperature,
                    log_q_pos,
                    log_q_neg,
                    hits,
                )
            reg = model.reg_embeddings(
                users,
                pos
                if neg_ids is None
                else torch.cat([pos.view(-1, 1), neg_ids], dim=1),
            )
            loss = loss + args.reg * l2_regularization(
                *reg, batch_size=users.numel()
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * users.numel()
        print(
            f'epoch {epoch:3d} | loss {total / train.size(1):.4f} | '
            f'{time.perf_counter() - start:6.1f} s'
        )

    model.eval()
    with torch.no_grad():
        user_emb, item_emb = model()
    metrics = evaluate_ranking(user_emb, item_emb, train, test, k=20)
    if args.method in ('uniform', 'dns', 'softmax'):
        print(f'false negatives: {false_neg}')
    print(
        f'Recall@20 {metrics["recall@20"]:.4f} | NDCG@20 '
        f'{metrics["ndcg@20"]:.4f} | {metrics["num_users"]} test users'
    )


if __name__ == '__main__':
    main()
