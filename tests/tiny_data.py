r"""A tiny dataset in the LightGCN text format, for the tests that run the
training commands end to end (importable from every test: pytest puts
``tests/`` on ``sys.path`` for its root ``conftest.py``)."""

from pathlib import Path


def write_lightgcn_folder(root: Path, shift: int = 0) -> str:
    r"""Writes ``train.txt`` and ``test.txt`` of 10 users and 12 items
    (four training items and one test item each) into :obj:`root` and
    returns it as a string; :obj:`shift` moves every test item (the same
    shape, other data)."""
    root.mkdir(parents=True, exist_ok=True)
    train = [
        f'{u} ' + ' '.join(str((u + j) % 12) for j in range(4))
        for u in range(10)
    ]
    test = [f'{u} {(u + 4 + shift) % 12}' for u in range(10)]
    (root / 'train.txt').write_text('\n'.join(train) + '\n')
    (root / 'test.txt').write_text('\n'.join(test) + '\n')
    return str(root)
