r"""The pieces :mod:`bench_sampling` is built from: the synthetic power-law
graph, the timer, the bare ``randint`` + ``searchsorted`` baseline loop and
the index build in a child process (for its peak memory)."""

import os
import subprocess
import sys
import tempfile
import time

import torch
from _machine import sync


# ------------------------------------------------------------------ data
def power_law_graph(num_src, num_dst, num_edges, seed=0, exponent=0.8):
    r"""A bipartite graph of :obj:`num_edges` distinct edges, sources
    uniform, destination ranks drawn from the continuous power law
    :math:`p(x) \propto x^{-s}` on :math:`[1, D + 1)` (inverse CDF, so no
    search is needed) and scattered over the ids by a random permutation."""
    gen = torch.Generator().manual_seed(seed)
    edges = torch.empty(0, dtype=torch.long)
    for _ in range(8):  # top up what deduplication removed
        need = num_edges - edges.numel()
        if need <= 0:
            break
        draw = int(need * 1.05) + 1000
        src = torch.randint(num_src, (draw,), generator=gen)
        u = torch.rand(draw, generator=gen, dtype=torch.float64)
        a = 1.0 - exponent
        rank = ((((num_dst + 1) ** a - 1) * u + 1) ** (1 / a)).long() - 1
        rank.clamp_(0, num_dst - 1)
        edges = torch.unique(torch.cat([edges, src * num_dst + rank]))
    perm = torch.randperm(edges.numel(), generator=gen)[:num_edges]
    edges = edges[perm]  # distinct, in random order
    scatter = torch.randperm(num_dst, generator=gen)
    src = torch.div(edges, num_dst, rounding_mode='floor')
    dst = scatter[edges - src * num_dst]
    return torch.stack([src, dst])


# ----------------------------------------------------------------- timing
def time_calls(fn, device, min_time, max_repeats, warmup=1):
    r"""Mean seconds per call over one timed block: :obj:`warmup` untimed
    calls, then calls until :obj:`min_time` seconds have passed or
    :obj:`max_repeats` calls were made."""
    for _ in range(warmup):
        fn()
    sync(device)
    calls = 0
    start = time.perf_counter()
    while calls < max_repeats:
        fn()
        calls += 1
        if calls % 4 == 0 or calls == max_repeats:
            sync(device)
            if time.perf_counter() - start >= min_time:
                break
    sync(device)
    return (time.perf_counter() - start) / calls, calls


def baseline_randint_searchsorted(keys, src, num_dst, gen, max_rounds=1000):
    r"""Baseline 1: draw one destination per source, test membership in the
    sorted keys, redraw the positives until none is left."""
    dst = torch.randint(num_dst, src.shape, generator=gen, device=src.device)
    todo = torch.arange(src.numel(), device=src.device)
    last = keys.numel() - 1
    for _ in range(max_rounds):
        query = src[todo] * num_dst + dst[todo]
        pos = torch.searchsorted(keys, query).clamp_(max=last)
        bad = keys[pos] == query
        if not bool(bad.any()):
            return dst
        todo = todo[bad]
        dst[todo] = torch.randint(
            num_dst, todo.shape, generator=gen, device=src.device
        )
    raise RuntimeError('baseline 1 did not converge')


# ------------------------------------------------------------------ memory
CHILD = r"""
import sys, time, torch
sys.path.insert(0, sys.argv[3])  # benchmarks/, for _machine
from _machine import peak_rss
from torch_geometric_negsamp import PositiveIndex

torch.set_num_threads(int(sys.argv[2]))
# Memory-mapped: the edge list's pages count once touched by the build.
edge_index, num_src, num_dst = torch.load(sys.argv[1], mmap=True)
before = peak_rss()
start = time.perf_counter()
index = PositiveIndex(edge_index, num_src, num_dst)
seconds = time.perf_counter() - start
after = peak_rss()
print(seconds, after, after - before, index.nbytes)
"""


def index_build_in_subprocess(edge_index, num_src, num_dst):
    r"""Builds the index in a fresh process: seconds, the process's peak
    resident memory (bytes; Python, torch and the edge list included), the
    part of it added by the build, and the index's own bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'graph.pt')
        torch.save((edge_index.cpu(), num_src, num_dst), path)
        out = subprocess.run(
            [
                sys.executable,
                '-c',
                CHILD,
                path,
                str(torch.get_num_threads()),
                os.path.dirname(os.path.abspath(__file__)),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]), int(out[3])
