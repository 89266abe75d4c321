import hashlib
import os

import pytest
import torch

from torch_geometric_negsamp.datasets import InteractionSplit
from torch_geometric_negsamp.train import CheckpointError, TrainConfig
from torch_geometric_negsamp.train.checkpoint import (
    FIELDS,
    MAGIC,
    atomic_write,
    check_resumable,
    check_writable,
    data_fingerprint,
    first_nonfinite,
    read_checkpoint,
    write_checkpoint,
    write_weights,
)

TRAIN = torch.tensor([[0, 0, 1, 2], [0, 1, 2, 3]])
TEST = torch.tensor([[0, 1], [2, 0]])


def _state(**changes):
    state = {
        'epoch': 3,
        'train_seconds': 1.5,
        'model': {'w': torch.arange(6.0).view(2, 3)},
        'optimizer': {'state': {0: {'exp_avg': torch.ones(2)}}},
        'strategy': {'cache': torch.tensor([[1, 2]])},
        'history': [{'epoch': 3, 'loss': 0.5}],
        'best': {'epoch': 3, 'loss': 0.5},
        'best_model': {'w': torch.zeros(2, 3)},
        'config': TrainConfig().to_dict(),
        'data': 'f' * 64,
    }
    state.update(changes)
    return state


@pytest.fixture
def saved(tmp_path):
    path = str(tmp_path / 'checkpoint.pt')
    write_checkpoint(path, _state())
    return path


def test_round_trip(saved):
    state = read_checkpoint(saved)
    assert sorted(state) == sorted(FIELDS)
    assert torch.equal(state['model']['w'], torch.arange(6.0).view(2, 3))
    assert torch.equal(state['strategy']['cache'], torch.tensor([[1, 2]]))
    assert state['history'] == [{'epoch': 3, 'loss': 0.5}]


def test_the_header_holds_the_size_and_checksum_of_the_payload(saved):
    data = open(saved, 'rb').read()
    assert data.startswith(MAGIC)
    header, payload = data[len(MAGIC) :].split(b'\n', 1)
    assert f'"size": {len(payload)}'.encode() in header
    assert hashlib.sha256(payload).hexdigest().encode() in header


def _flip_64(data):
    data = bytearray(data)
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle:][:64])
    return bytes(data)


@pytest.mark.parametrize(
    'damage,match',
    [
        (_flip_64, 'it is corrupted .*SHA-256.*; restore a copy'),
        (lambda d: d[: len(d) - 100], r'it is truncated \(\d+ of \d+ bytes\)'),
        (lambda d: d[:10], 'it is not a negsamp-train checkpoint'),
        (lambda d: b'', 'the file is empty'),
        (lambda d: d + b'x', 'it is corrupted'),
        (lambda d: os.urandom(4096), 'it is not a negsamp-train checkpoint'),
        (lambda d: MAGIC + b'{"format": 1}\n' + d, 'its header is damaged'),
        (lambda d: MAGIC + b'no header end' * 100, 'its header is damaged'),
        (
            lambda d: d.replace(b'"format": 1', b'"format": 9', 1),
            'it has format 9; this version reads format 1',
        ),
    ],
)
def test_every_damage_is_one_line_naming_the_file(saved, damage, match):
    data = open(saved, 'rb').read()
    with open(saved, 'wb') as f:
        f.write(damage(data))
    with pytest.raises(CheckpointError, match=match) as exc:
        read_checkpoint(saved)
    message = str(exc.value)
    assert message.startswith(f'cannot resume from {saved}: ')
    assert '\n' not in message
    assert 'start afresh' in message or 'restore a copy' in message


def test_a_directory_is_refused(tmp_path):
    path = tmp_path / 'checkpoint.pt'
    path.mkdir()
    with pytest.raises(CheckpointError, match='it is a directory, not a'):
        read_checkpoint(str(path))


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match='there is no such file'):
        read_checkpoint(str(tmp_path / 'nothing.pt'))


def test_a_foreign_torch_file_is_refused(tmp_path):
    path = str(tmp_path / 'checkpoint.pt')
    torch.save({'a': 1}, path)
    with pytest.raises(CheckpointError, match='not a negsamp-train'):
        read_checkpoint(path)


def _rewrite_payload(path, payload):
    # A well-formed file (right size and checksum) around other contents.
    header = (
        f'{{"format": 1, "size": {len(payload)}, '
        f'"sha256": "{hashlib.sha256(payload).hexdigest()}"}}'
    )
    with open(path, 'wb') as f:
        f.write(MAGIC + header.encode() + b'\n' + payload)


def test_a_verified_payload_that_is_not_a_training_state_is_refused(
    tmp_path,
):
    path = str(tmp_path / 'checkpoint.pt')
    _rewrite_payload(path, b'not a torch file')
    with pytest.raises(CheckpointError, match='its contents cannot be read'):
        read_checkpoint(path)
    import io

    buffer = io.BytesIO()
    torch.save({'a': 1}, buffer)
    _rewrite_payload(path, buffer.getvalue())
    with pytest.raises(CheckpointError, match='lacks the fields'):
        read_checkpoint(path)


def test_nothing_non_finite_is_written(tmp_path):
    path = str(tmp_path / 'checkpoint.pt')
    bad = _state(model={'w': torch.tensor([1.0, float('nan')])})
    with pytest.raises(FloatingPointError, match=r"state\['model'\]\['w'\]"):
        write_checkpoint(path, bad)
    with pytest.raises(FloatingPointError, match='NaN or infinite'):
        write_weights(path, {'w': torch.tensor([float('inf')])})
    assert not os.listdir(tmp_path)
    with pytest.raises(ValueError, match="'state' lacks the checkpoint"):
        write_checkpoint(path, {'epoch': 1})


def test_first_nonfinite():
    assert first_nonfinite({'a': [torch.ones(2), (torch.zeros(1),)]}) is None
    state = {'a': [torch.ones(2), {'b': torch.tensor([-float('inf')])}]}
    assert first_nonfinite(state) == "state['a'][1]['b']"
    # integer tensors and Python numbers are not looked at
    assert first_nonfinite({'n': torch.tensor([1]), 'x': float('nan')}) is None


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = str(tmp_path / 'best.pt')
    atomic_write(path, b'old contents')

    def crash(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, b'new contents, never complete')
    assert open(path, 'rb').read() == b'old contents'
    assert os.listdir(tmp_path) == ['best.pt']


def test_best_weights_load_with_torch(tmp_path):
    path = str(tmp_path / 'best.pt')
    write_weights(path, {'w': torch.arange(3.0)})
    loaded = torch.load(path, weights_only=True)
    assert torch.equal(loaded['w'], torch.arange(3.0))


def test_check_writable(tmp_path):
    check_writable(str(tmp_path / 'a' / 'b'))
    assert (tmp_path / 'a' / 'b').is_dir()
    assert os.listdir(tmp_path / 'a' / 'b') == []  # the probe is gone
    (tmp_path / 'file').write_text('x')
    with pytest.raises(ValueError, match="'out_dir' must be a folder this"):
        check_writable(str(tmp_path / 'file' / 'run'))


def test_the_fingerprint_changes_with_any_change_of_the_data():
    split = InteractionSplit(TRAIN, TEST, 3, 4)
    same = InteractionSplit(TRAIN.clone(), TEST.clone(), 3, 4)
    assert data_fingerprint(split) == data_fingerprint(same)
    other_test = TEST.clone()
    other_test[1, 0] = 3  # same shape, another item
    others = [
        InteractionSplit(TRAIN, other_test, 3, 4),
        InteractionSplit(TRAIN, TEST, 3, 5),
        InteractionSplit(TRAIN, TEST, 4, 4),
        InteractionSplit(TRAIN[:, :3], TEST, 3, 4),
        split.with_validation(0.5, seed=0),
    ]
    prints = {data_fingerprint(s) for s in [split, *others]}
    assert len(prints) == 1 + len(others)


def test_check_resumable_names_the_differing_field():
    config = TrainConfig()
    state = _state()
    check_resumable(state, config, 'f' * 64, 'x.pt')
    renamed = _state(config={**config.to_dict(), 'sampler': 'Uniform'})
    check_resumable(renamed, config, 'f' * 64, 'x.pt')
    with pytest.raises(CheckpointError, match='trained with lr=0.005, not 0'):
        check_resumable(state, TrainConfig(lr=0.001), 'f' * 64, 'x.pt')
    with pytest.raises(CheckpointError, match='with queue_size=32, not 8'):
        check_resumable(state, TrainConfig(queue_size=8), 'f' * 64, 'x.pt')
    with pytest.raises(CheckpointError, match='trained on other data'):
        check_resumable(state, config, 'e' * 64, 'x.pt')
    with pytest.raises(CheckpointError, match='holds no configuration'):
        check_resumable(_state(config=None), config, 'f' * 64, 'x.pt')
