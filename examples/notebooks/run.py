r"""Execute the example notebooks.

    python examples/notebooks/run.py            # full setting; stores outputs
    python examples/notebooks/run.py --quick    # reduced setting (CI); the
                                                # notebooks stay untouched

Every code cell runs in a fresh kernel of this interpreter (``ipykernel``),
top to bottom; a cell that raises fails the run with the cell and its
traceback. ``--quick`` sets ``NEGSAMP_NOTEBOOK_QUICK=1``, which the notebooks
read to shrink their data and epochs to seconds, and discards the outputs, so
the stored ones always come from the full setting. Needs the ``notebooks``
extra (``pip install -e ".[notebooks]"``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(path: Path, quick: bool, timeout: int) -> None:
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name='python3',
        resources={'metadata': {'path': str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    if not quick:
        nbformat.write(nb, path)
    print(f'{path.name}: {len(nb.cells)} cells ran in {seconds:.1f} s')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('notebooks', nargs='*', type=Path)
    parser.add_argument(
        '--quick',
        action='store_true',
        help='reduced setting, outputs not stored (what CI runs)',
    )
    parser.add_argument(
        '--timeout', type=int, default=1800, help='seconds per cell'
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(HERE.glob('*.ipynb'))
    if not paths:
        parser.error(f'no notebooks in {HERE}')
    if args.quick:
        os.environ['NEGSAMP_NOTEBOOK_QUICK'] = '1'
    else:
        os.environ.pop('NEGSAMP_NOTEBOOK_QUICK', None)
    import nbclient.exceptions

    for path in paths:
        try:
            run(path, args.quick, args.timeout)
        except nbclient.exceptions.CellExecutionError as err:
            print(f'{path.name}: a cell failed\n{err}', file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
