import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_geometric_negsamp.select._co_interaction import CoInteractions


def _reference(edges, num_items):
    r"""N(x) by brute force: items sharing a user with x, x left out."""
    users_of = {x: set() for x in range(num_items)}
    for w, x in edges:
        users_of[x].add(w)
    return {
        x: {
            y for y in range(num_items) if y != x and users_of[x] & users_of[y]
        }
        for x in range(num_items)
    }


@settings(max_examples=40, deadline=None)
@given(
    num_users=st.integers(1, 5),
    num_items=st.integers(1, 7),
    data=st.data(),
)
def test_sets_are_the_rows_of_rt_r(num_users, num_items, data):
    pairs = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, num_users - 1), st.integers(0, num_items - 1)
            ),
            max_size=14,
        )
    )
    edge_index = torch.tensor(pairs, dtype=torch.long).view(-1, 2).t()
    co = CoInteractions(edge_index, num_users, num_items)
    ref = _reference(pairs, num_items)
    assert co.sizes().tolist() == [len(ref[x]) for x in range(num_items)]
    x = torch.arange(num_items).view(-1, 1)
    y = torch.arange(num_items).view(1, -1)
    member = co.contains_unchecked(x, y)
    for a in range(num_items):
        assert {b for b in range(num_items) if member[a, b]} == ref[a]
    assert torch.equal(member, member.t())  # the relation is symmetric
    draws = co.sample_unchecked(x.view(-1).repeat(30), torch.Generator())
    for a, b in zip(x.view(-1).repeat(30).tolist(), draws.tolist()):
        assert (b in ref[a]) if ref[a] else b == -1


def test_draws_are_uniform_over_the_set():
    from scipy.stats import chisquare

    # item 0 shares user 0 with 1, 2 and user 1 with 3: N(0) = {1, 2, 3}
    edge_index = torch.tensor([[0, 0, 0, 1, 1], [0, 1, 2, 0, 3]])
    co = CoInteractions(edge_index, 2, 5)
    draws = co.sample_unchecked(
        torch.zeros(3000, dtype=torch.long), torch.Generator().manual_seed(0)
    )
    counts = torch.bincount(draws, minlength=5)
    assert counts[0] == 0 and counts[4] == 0
    assert chisquare(counts[1:4].numpy()).pvalue > 1e-3


def test_ids_out_of_range_raise_before_the_shift():
    # A user id past the users would land on a copy node once shifted.
    with pytest.raises(ValueError, match=r"'edge_index\[0\]' holds user id 2"):
        CoInteractions(torch.tensor([[2], [0]]), 2, 3)
    with pytest.raises(ValueError, match=r"'edge_index\[1\]' holds item id 3"):
        CoInteractions(torch.tensor([[0], [3]]), 2, 3)
    with pytest.raises(ValueError, match="'edge_index' must have shape"):
        CoInteractions(torch.zeros(3, 1, dtype=torch.long), 2, 3)
