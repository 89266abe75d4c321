r"""The gain of finished runs over a reference run on the same split: the
selected checkpoints' test Recall@k, the relative gain over the reference
with a 95% paired bootstrap interval over the test users, and the share of
the reference's curve after its first quarter that each run stays at or
above (:func:`torch_geometric_negsamp.train.compare.against_uniform`).

Runs compared by ``negsamp-compare`` share every setting but the sampler;
this compares any runs of ``negsamp-train`` or ``negsamp-compare`` that were
trained on the same data and split (dataset, slice, validation fraction and
seed), whatever else differs (loss, L2 weight, size, ...): a hard-sampler
recipe against uniform at the command's defaults, say. A run on other data
is refused. Nothing is trained: each run's checkpoint is loaded and its
selected checkpoint evaluated user by user. Usage::

    python benchmarks/bench_gain.py runs/uni/uniform runs/dns/dns [...]
    python benchmarks/bench_gain.py REFERENCE RUN ... --out gain.json

The first folder is the reference.
"""

import argparse
import os
import sys
from typing import Dict, List, Optional

import torch
from _machine import describe, machine_info, write_report

from torch_geometric_negsamp._registry import normalize_name
from torch_geometric_negsamp.train.compare import against_uniform
from torch_geometric_negsamp.train.config import RESUME_KEYS
from torch_geometric_negsamp.train.factories import load_split
from torch_geometric_negsamp.train.runs import load_run, selected_test_recall


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument('reference', help='folder of the reference run')
    parser.add_argument('runs', nargs='+', help='folders of the other runs')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default='bench_gain.json')
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    info = machine_info(torch.device('cpu'))
    print(describe(info))
    folders = [args.reference, *args.runs]
    if len(set(map(os.path.realpath, folders))) < len(folders):
        parser.error(f'a run is named twice (got {folders})')
    trainers = [load_run(folders[0], device='cpu', log=lambda line: None)]
    # The reference's data, loaded once: a run trained on another split is
    # refused by its checkpoint's data fingerprint.
    data = load_split(trainers[0].config)
    for folder in folders[1:]:
        trainers.append(load_run(folder, data, 'cpu', log=lambda line: None))
    k = trainers[0].config.k

    def same_name(value):  # 'in-batch' and 'inbatch' name one sampler
        return normalize_name(value) if isinstance(value, str) else value

    rows, histories, per_user = [], {}, {}
    for folder, trainer in zip(folders, trainers):
        best = trainer.result.best or {}
        # The data is the reference's (its fingerprint was checked), however
        # its folder was spelt.
        differs = {
            key: getattr(trainer.config, key)
            for key in RESUME_KEYS
            if key != 'data_root'
            and same_name(getattr(trainer.config, key))
            != same_name(getattr(trainers[0].config, key))
        }
        rows.append(
            {
                'sampler': folder,
                'strategy': trainer.config.sampler,
                'differs': differs,
                'epoch': best.get('epoch'),
                f'test_recall@{k}': best.get(f'test_recall@{k}'),
                'stop_epoch': trainer.epoch,
            }
        )
        histories[folder] = list(trainer.result.history)
        per_user[folder] = selected_test_recall(trainer)
    against_uniform(rows, histories, k, per_user, args.seed, folders[0])

    def show(value, spec):
        return '-' if value is None else format(value, spec)

    print(f'reference: {folders[0]} (selected test Recall@{k} ', end='')
    print(f'{show(rows[0][f"test_recall@{k}"], ".4f")}, ', end='')
    print(f'epoch {rows[0]["epoch"]})')

    for row in rows[1:]:
        low, high = row['vs_uniform_low'], row['vs_uniform_high']
        print(
            f'  {row["sampler"]}: {row["strategy"]}, epoch {row["epoch"]}, '
            f'Recall@{k} {show(row[f"test_recall@{k}"], ".4f")}, '
            f'{show(row["vs_uniform"], "+.1%")} '
            f'[{show(low, "+.1%")}, {show(high, "+.1%")}], '
            f'above the reference {show(row["above_uniform"], ".2f")}; '
            f'differs in {row["differs"] or "no setting"}'
        )
    for row in rows:  # JSON has no infinity (an interval may be unbounded)
        for key in ('vs_uniform_low', 'vs_uniform_high'):
            if row[key] is not None and abs(row[key]) == float('inf'):
                row[key] = str(row[key])
    report = {'machine': info, 'args': vars(args), 'rows': rows}
    write_report(args.out, report)
    return report


if __name__ == '__main__':
    main()
