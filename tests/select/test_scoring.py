import pytest
import torch

from torch_geometric_negsamp.select import _scoring


def test_row_blocks_cover_every_row_once():
    for rows, per_row in [(0, 5), (1, 10**9), (13, 56), (1000, 1)]:
        cpu = list(_scoring.row_blocks(rows, per_row, torch.device('cpu')))
        covered = [i for part in cpu for i in range(rows)[part]]
        assert covered == list(range(rows))
        assert all(part.stop > part.start for part in cpu)
        size = max(1, _scoring.BLOCK_ELEMENTS // per_row)
        assert all(part.stop - part.start <= size for part in cpu)
    # Another device takes the batch as one block:
    meta = list(_scoring.row_blocks(1000, 1, torch.device('meta')))
    assert meta == [slice(0, 1000)]


@pytest.mark.parametrize('block', [1 << 18, 1, 50])
def test_candidate_scores_equal_the_whole_batch_product_bit_for_bit(
    monkeypatch, block
):
    monkeypatch.setattr(_scoring, 'BLOCK_ELEMENTS', block)
    gen = torch.Generator().manual_seed(1)
    users = torch.randn(9, 6, generator=gen, requires_grad=True)
    items = torch.randn(20, 6, generator=gen, requires_grad=True)
    cand = torch.randint(20, (9, 7), generator=gen)
    scores = _scoring.candidate_scores(users, items, cand)
    expected = (users.unsqueeze(1) * items[cand]).sum(-1)
    assert torch.equal(scores, expected.detach())
    assert not scores.requires_grad
    # The inputs are left as they were (the gather is multiplied in place):
    assert torch.equal(items[cand[0, 0]], items.detach()[cand[0, 0]])
    # Candidates of any shape [B, *] (MixGCF's [B, k, M]):
    cand3 = torch.randint(20, (9, 2, 4), generator=gen)
    expected3 = (users[:, None, None] * items[cand3]).sum(-1)
    assert torch.equal(
        _scoring.candidate_scores(users, items, cand3), expected3.detach()
    )
    empty = _scoring.candidate_scores(users[:0], items, cand[:0])
    assert empty.shape == (0, 7) and empty.dtype == items.dtype


def test_gather_rows_equals_indexing():
    table = torch.arange(24.0).view(6, 2, 2)
    ids = torch.tensor([[5, 0], [2, 2]])
    assert torch.equal(_scoring.gather_rows(table, ids), table[ids])
    flat = table.view(6, 4)
    assert torch.equal(_scoring.gather_rows(flat, ids), flat[ids])
