r"""What every benchmark prints about the machine it ran on, and the
embedded Gowalla graph they share."""

import json
import os
import platform
from typing import Dict, Tuple

import torch
import torch_geometric
from torch import Tensor


def machine_info(device: torch.device) -> Dict[str, object]:
    r"""The system, processor (or GPU), core and thread counts, library
    versions and load average, for the report and the JSON output."""
    uname = platform.uname()
    info: Dict[str, object] = {
        'system': f'{uname.system} {uname.release} {uname.machine}',
        'processor': platform.processor() or uname.machine,
        'cpu_count': os.cpu_count(),
        'torch_threads': torch.get_num_threads(),
        'python': platform.python_version(),
        'torch': torch.__version__,
        'torch_geometric': torch_geometric.__version__,
        'device': str(device),
    }
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['processor'] = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    info['device_name'] = (
        torch.cuda.get_device_name(device)
        if device.type == 'cuda'
        else info['processor']
    )
    try:
        info['load_average'] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def describe(info: Dict[str, object]) -> str:
    r"""One line naming the machine."""
    return (
        f'{info["system"]}, {info["device_name"]}, {info["cpu_count"]} '
        f'CPU cores ({info["torch_threads"]} torch threads), torch '
        f'{info["torch"]}, PyG {info["torch_geometric"]}, device '
        f'{info["device"]}, load average {info.get("load_average")}'
    )


def write_report(path: str, report: Dict[str, object]) -> None:
    r"""Writes a benchmark's :obj:`report` (the machine, the arguments, the
    rows) to :obj:`path` as JSON and says so."""
    with open(path, 'w') as f:
        json.dump(report, f, indent=2)
    print(f'wrote {path}')


def sync(device: torch.device) -> None:
    r"""Waits for the device's queued work (a no-op off CUDA), so that a
    timer reads the work done."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def peak_rss() -> int:
    r"""This process's peak resident memory in bytes: ``VmHWM`` (its own
    peak; ``resource.getrusage`` where that is missing, which on Linux may
    also count what a forked parent held)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def gowalla_train() -> Tuple[Tensor, int, int]:
    r"""The embedded Gowalla training pairs ``[2, E]`` (user, item), with
    the numbers of users and items (checksum verified)."""
    from torch_geometric_negsamp.datasets import load_gowalla

    split = load_gowalla()
    return split.train_index, split.num_users, split.num_items
