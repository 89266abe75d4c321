r"""Checkpoints of the training loop: written atomically, verified on load.

A checkpoint file holds three parts::

    NEGSAMP-CHECKPOINT\n
    {"format": 1, "size": <payload bytes>, "sha256": "<hex>"}\n
    <payload: torch.save of the training state>

The payload is unpickled (with :obj:`weights_only=True`) only after its size
and SHA-256 checksum match the header, so a truncated, damaged or foreign
file is refused with one line naming it and what to do, never a traceback
or a silently changed state. Every file is written to ``<path>.tmp``,
flushed to disk (:func:`os.fsync`) and renamed over :obj:`path`, so an
interrupted save leaves the previous file whole. Nothing non-finite is ever
written.
"""

import dataclasses
import hashlib
import io
import json
import os
from typing import Any, Dict, Mapping, Optional

import torch

from torch_geometric_negsamp._registry import normalize_name
from torch_geometric_negsamp.train.config import RESUME_KEYS, TrainConfig

MAGIC = b'NEGSAMP-CHECKPOINT\n'
FORMAT_VERSION = 1
_MAX_HEADER = 1024
#: The fields of a checkpoint's payload.
FIELDS = (
    'epoch',
    'train_seconds',
    'model',
    'optimizer',
    'strategy',
    'history',
    'best',
    'best_model',
    'config',
    'data',
)
_NAME_KEYS = ('dataset', 'encoder', 'sampler', 'loss')
_DEFAULTS = {
    f.name: f.default
    for f in dataclasses.fields(TrainConfig)
    if f.default is not dataclasses.MISSING
}
_AFRESH = 'delete it to start afresh, or choose another --out'


class CheckpointError(ValueError):
    r"""A checkpoint that cannot be resumed from; the message is one line
    naming the file and what to do."""


def one_line(text: object, limit: int = 300) -> str:
    r""":obj:`text` on one line (whitespace runs collapsed), at most
    :obj:`limit` characters."""
    text = ' '.join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + '...'


# --------------------------------------------------------------- writing
def atomic_write(path: str, data: bytes) -> None:
    r"""Writes :obj:`data` to :obj:`path` so that :obj:`path` holds either
    its old contents or all of :obj:`data`, whatever interrupts the write:
    a temporary file beside it, :func:`os.fsync`, then a rename."""
    tmp = f'{path}.tmp'
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.isfile(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(os.path.dirname(os.path.abspath(path)))


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable; not every system can open a folder.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def check_writable(out_dir: str) -> None:
    r"""Creates :obj:`out_dir` if needed and writes (then removes) a probe
    file in it; a :class:`ValueError` naming :obj:`'out_dir'` otherwise."""
    probe = os.path.join(out_dir, f'.negsamp-probe-{os.getpid()}')
    try:
        os.makedirs(out_dir, exist_ok=True)
        with open(probe, 'wb') as f:
            f.write(b'probe')
        os.remove(probe)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ValueError(
            f"'out_dir' must be a folder this process can write to (got "
            f'{out_dir!r}: {reason})'
        ) from None


def first_nonfinite(obj: Any, name: str = 'state') -> Optional[str]:
    r"""The name of the first floating-point tensor in :obj:`obj` (nested
    dicts, lists and tuples) that holds a NaN or an infinity, or
    :obj:`None`."""
    if isinstance(obj, torch.Tensor):
        if obj.is_floating_point() and not bool(torch.isfinite(obj).all()):
            return name
        return None
    if isinstance(obj, Mapping):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        return None
    for key, value in items:
        found = first_nonfinite(value, f'{name}[{key!r}]')
        if found is not None:
            return found
    return None


def _refuse_nonfinite(path: str, state: Any) -> None:
    bad = first_nonfinite(state)
    if bad is not None:
        raise FloatingPointError(
            f'refusing to write {path}: {bad} holds NaN or infinite values '
            f"(the training diverged; lower 'lr' or raise 'reg')"
        )


def write_checkpoint(path: str, state: Dict[str, Any]) -> None:
    r"""Writes the training :obj:`state` (the :obj:`FIELDS`) to
    :obj:`path` with its size and SHA-256 checksum."""
    missing = [key for key in FIELDS if key not in state]
    if missing:
        raise ValueError(f"'state' lacks the checkpoint fields {missing}")
    _refuse_nonfinite(path, state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    header = {
        'format': FORMAT_VERSION,
        'size': len(payload),
        'sha256': hashlib.sha256(payload).hexdigest(),
    }
    data = MAGIC + json.dumps(header).encode() + b'\n' + payload
    atomic_write(path, data)


def write_weights(path: str, state_dict: Mapping[str, torch.Tensor]) -> None:
    r"""Writes a model's :obj:`state_dict` with :func:`torch.save`,
    atomically (a plain file :func:`torch.load` reads)."""
    _refuse_nonfinite(path, state_dict)
    buffer = io.BytesIO()
    torch.save(dict(state_dict), buffer)
    atomic_write(path, buffer.getvalue())


# --------------------------------------------------------------- reading
def read_checkpoint(path: str, map_location=None) -> Dict[str, Any]:
    r"""Reads and verifies the checkpoint at :obj:`path`; every failure is
    a :class:`CheckpointError` with a one-line message."""

    def fail(problem: str, advice: str = _AFRESH) -> CheckpointError:
        return CheckpointError(
            f'cannot resume from {path}: {one_line(problem)}; {advice}'
        )

    if os.path.isdir(path):
        raise fail('it is a directory, not a checkpoint file')
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        raise fail(
            'there is no such file', 'train without --resume to start'
        ) from None
    except OSError as e:
        raise fail(
            f'it cannot be read ({e.strerror or type(e).__name__})',
            'check its permissions, or choose another --out',
        ) from None
    if not data:
        raise fail('the file is empty (an interrupted copy?)')
    if not data.startswith(MAGIC):
        raise fail(
            'it is not a negsamp-train checkpoint (another program wrote '
            'it, or an older version)'
        )
    end = data.find(b'\n', len(MAGIC), len(MAGIC) + _MAX_HEADER)
    try:
        if end < 0:
            raise ValueError
        header = json.loads(data[len(MAGIC) : end])
        version, size = header['format'], int(header['size'])
        digest = str(header['sha256'])
    except (ValueError, KeyError, TypeError):
        raise fail('its header is damaged') from None
    if version != FORMAT_VERSION:
        raise fail(
            f'it has format {version!r}; this version reads format '
            f'{FORMAT_VERSION}'
        )
    payload = data[end + 1 :]
    if len(payload) < size:
        raise fail(f'it is truncated ({len(payload)} of {size} bytes)')
    if len(payload) > size or hashlib.sha256(payload).hexdigest() != digest:
        raise fail(
            'it is corrupted (its SHA-256 checksum does not match its '
            'contents)',
            f'restore a copy of it, or {_AFRESH}',
        )
    try:
        state = torch.load(
            io.BytesIO(payload), map_location=map_location, weights_only=True
        )
    except Exception as e:  # any unpickling failure, whatever its type
        raise fail(f'its contents cannot be read ({e})') from None
    if not isinstance(state, dict) or any(k not in state for k in FIELDS):
        raise fail('it lacks the fields of a training state')
    return state


def check_resumable(
    state: Mapping[str, Any], config, fingerprint: str, path: str
) -> None:
    r"""Refuses (:class:`CheckpointError`) a checkpoint trained with other
    settings (a field of :obj:`RESUME_KEYS`) or on other data (another
    :func:`data_fingerprint`)."""
    saved = state['config']
    if not isinstance(saved, Mapping):
        raise CheckpointError(
            f'cannot resume from {path}: it holds no configuration; {_AFRESH}'
        )
    for key in RESUME_KEYS:
        # A field added after the checkpoint was written counts as its
        # default: fields come with defaults that keep the older behaviour.
        old, new = saved.get(key, _DEFAULTS.get(key)), getattr(config, key)
        if key in _NAME_KEYS and isinstance(old, str):
            same = normalize_name(old) == normalize_name(new)
        else:
            same = old == new
        if not same:
            raise CheckpointError(
                f'cannot resume from {path}: it was trained with '
                f'{key}={old!r}, not {new!r}; resume with the same '
                f'settings, or choose another --out'
            )
    if state['data'] != fingerprint:
        raise CheckpointError(
            f'cannot resume from {path}: it was trained on other data '
            f'(fingerprint {str(state["data"])[:12]}, this data '
            f'{fingerprint[:12]}); resume on the same data, or choose '
            f'another --out'
        )


def data_fingerprint(split) -> str:
    r"""The SHA-256 of a split's sizes and of its training, validation and
    test interactions: equal exactly when the data is."""
    h = hashlib.sha256()
    h.update(f'{split.num_users} users, {split.num_items} items'.encode())
    for name in ('train_index', 'val_index', 'test_index'):
        index = getattr(split, name)
        if index is None:
            h.update(f'|{name}: none'.encode())
            continue
        index = index.detach().to('cpu', torch.int64).contiguous()
        h.update(f'|{name}: {list(index.shape)}'.encode())
        h.update(index.numpy().tobytes())
    return h.hexdigest()
