import pytest
import torch
from selector_contract import Bad, SelectorContract

from torch_geometric_negsamp.select import MemoryQueue


def test_memory_queue_is_fifo_and_bounded():
    queue = MemoryQueue(4, dim=2)
    with pytest.raises(RuntimeError, match='the queue is empty'):
        queue.negatives()
    queue.push(torch.tensor([1, 2, 3]), torch.ones(3, 2))
    queue.push(torch.tensor([4, 5]), torch.zeros(2, 2))
    items, emb = queue.negatives()
    assert items.tolist() == [2, 3, 4, 5] and len(queue) == 4
    assert emb.tolist() == [[1, 1], [1, 1], [0, 0], [0, 0]]
    ids = MemoryQueue(2)
    ids.push(torch.tensor([7, 8, 9]))
    assert ids.negatives()[0].tolist() == [8, 9] and ids.negatives()[1] is None
    assert repr(ids) == 'MemoryQueue(size=2, dim=None, len=2)'


def test_memory_queue_errors():
    queue = MemoryQueue(4, dim=2, num_items=10)
    with pytest.raises(ValueError, match="'emb' must be given exactly"):
        queue.push(torch.tensor([1]))
    with pytest.raises(ValueError, match="'emb' must have shape"):
        queue.push(torch.tensor([1]), torch.zeros(1, 3))
    with pytest.raises(ValueError, match="'items' holds item id -1"):
        queue.push(torch.tensor([-1]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="'items' holds item id 10"):
        queue.push(torch.tensor([10]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="'emb' must be finite"):
        queue.push(torch.tensor([1]), torch.full((1, 2), float('nan')))
    assert len(queue) == 0
    with pytest.raises(ValueError, match="'size' must be a positive"):
        MemoryQueue(0)
    with pytest.raises(ValueError, match="'dim' must be a positive"):
        MemoryQueue(3, dim=0)
    with pytest.raises(ValueError, match="'items' holds item id -1"):
        MemoryQueue(3).push(torch.tensor([-1]))


def test_load_resizes_the_queue():
    full = MemoryQueue(3)
    full.push(torch.tensor([4, 5, 6, 7]))
    empty = MemoryQueue(3)
    empty.load_state_dict(full.state_dict())
    assert empty.negatives()[0].tolist() == [5, 6, 7]
    empty.load_state_dict(MemoryQueue(3).state_dict())
    assert len(empty) == 0


class TestMemoryQueueContract(SelectorContract):
    selector_class = MemoryQueue
    id_bounds = {'items': 10}
    repr_contains = ('size=4', 'dim=2')

    def make(self, **kwargs):
        return MemoryQueue(4, dim=2, num_items=10, **kwargs)

    def inputs(self, device='cpu'):
        return {
            'items': torch.tensor([1, 2, 3], device=device),
            'emb': torch.tensor(
                [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device=device
            ),
        }

    def call(self, selector, items, emb):
        selector.push(items, emb)
        selector.push(items[:2], emb[:2])
        items, emb = selector.negatives()
        return items.clone(), emb.clone()

    def expected_shapes(self, inputs):
        return [(4,), (4, 2)]

    def check_outputs(self, selector, inputs, outputs):
        # [1, 2, 3] then [1, 2] in a queue of 4: the oldest (1) is dropped.
        items, emb = outputs
        assert items.tolist() == [2, 3, 1, 2]
        assert emb.tolist() == [[3, 4], [5, 6], [1, 2], [3, 4]]

    def bad_calls(self):
        return [
            Bad(
                'emb-missing',
                lambda x: {**x, 'emb': None},
                ValueError,
                "'emb' must be given exactly",
            ),
            Bad(
                'emb-rows',
                lambda x: {**x, 'emb': x['emb'][:2]},
                ValueError,
                "'emb' must have shape",
            ),
            Bad(
                'items-2d',
                lambda x: {**x, 'items': x['items'].view(3, 1)},
                ValueError,
                "'items' must have 1 dim",
            ),
        ]

    def bad_constructions(self):
        return [
            Bad('size-zero', lambda: MemoryQueue(0), ValueError, "'size'"),
            Bad('size-str', lambda: MemoryQueue('4'), TypeError, "'size'"),
            Bad('dim-zero', lambda: MemoryQueue(4, 0), ValueError, "'dim'"),
            Bad(
                'num-items-zero',
                lambda: MemoryQueue(4, num_items=0),
                ValueError,
                "'num_items'",
            ),
        ]

    def bad_states(self):
        def too_long(state):
            return {
                **state,
                'items': torch.arange(5),
                'emb': torch.zeros(5, 2),
            }

        def rows(state):
            return {**state, 'emb': state['emb'][:1]}

        def out_of_range(state):
            return {**state, 'items': state['items'] + 10}

        def nan(state):
            return {
                **state,
                'emb': torch.full_like(state['emb'], float('nan')),
            }

        return [
            Bad('items-beyond-size', too_long, ValueError, 'more than'),
            Bad('emb-rows', rows, ValueError, 'one row per queued item'),
            Bad('items-out-of-range', out_of_range, ValueError, 'item id'),
            Bad('emb-nan', nan, ValueError, 'must be finite'),
        ]
