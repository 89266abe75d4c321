import pytest
import torch
from torch_geometric.data import Data

from torch_geometric_negsamp.kg import UniformCorruption

HEAD = torch.tensor([0, 0, 0, 1, 2, 3])
REL = torch.tensor([0, 0, 0, 1, 1, 1])
TAIL = torch.tensor([1, 2, 3, 4, 4, 4])
EDGE_INDEX = torch.stack([HEAD, TAIL])


def _draw(*args, **kwargs):
    corruption = UniformCorruption(4, seed=0).fit(*args, **kwargs)
    return corruption.sample((HEAD, REL, TAIL))


def test_every_form_of_triples_is_the_same_triples():
    reference = _draw((HEAD, REL, TAIL))
    data = Data(edge_index=EDGE_INDEX, edge_type=REL, num_nodes=5)
    for args in [
        (torch.stack([HEAD, REL, TAIL]),),
        ([HEAD.int(), REL, TAIL],),
        (EDGE_INDEX, REL),
        (data,),
    ]:
        out = _draw(*args)
        for x, y in zip(reference, out):
            assert torch.equal(x, y)
    # A Data's num_nodes sets the number of entities:
    big = Data(edge_index=EDGE_INDEX, edge_type=REL, num_nodes=40)
    assert UniformCorruption().fit(big).num_entities == 40
    # The batch can take any form as well:
    corruption = UniformCorruption(4, seed=0).fit(data)
    out = corruption.sample(EDGE_INDEX, REL)
    assert torch.equal(out.head, reference.head)


def test_every_form_of_extra_positives():
    # (5, 0, 1) takes head 5 from (., 0, 1), (0, 0, 5) tail 5 from (0, 0, .)
    h, r, t = torch.tensor([(5, 0, 1), (0, 0, 5)]).t()
    forms = [
        torch.stack([h, r, t]),
        (h, r, t),
        (torch.stack([h, t]), r),
        Data(edge_index=torch.stack([h, t]), edge_type=r),
        [torch.stack([h[:1], r[:1], t[:1]]), (h[1:], r[1:], t[1:])],
    ]
    for form in forms:
        corruption = UniformCorruption(300, seed=0)
        corruption.fit((HEAD, REL, TAIL), extra_positives=form)
        assert corruption.num_entities == 6
        neg = corruption.sample((HEAD[:1], REL[:1], TAIL[:1]))
        assert set(neg.head[neg.head_replaced].tolist()) == {1, 2, 3, 4}
        assert set(neg.tail[~neg.head_replaced].tolist()) == {0, 4}


def test_errors_name_the_argument():
    c = UniformCorruption()
    data = Data(edge_index=EDGE_INDEX, edge_type=REL)
    with pytest.raises(ValueError, match="'relation' must be None when"):
        c.fit(data, REL)
    with pytest.raises(ValueError, match="'triples' must hold 'edge_index'"):
        c.fit(Data(edge_index=EDGE_INDEX))
    with pytest.raises(ValueError, match="'triples.edge_index' must have"):
        c.fit(Data(edge_index=EDGE_INDEX.t().contiguous(), edge_type=REL))
    with pytest.raises(ValueError, match="'triples.edge_type' must have one"):
        c.fit(Data(edge_index=EDGE_INDEX, edge_type=REL[:2]))
    with pytest.raises(ValueError, match="'relation' must be None when"):
        c.fit((HEAD, REL, TAIL), REL)
    with pytest.raises(ValueError, match='three tensors \\(got 2 items\\)'):
        c.fit([HEAD, TAIL])
    with pytest.raises(TypeError, match="'triples\\[1\\]' must be a torch"):
        c.fit((HEAD, REL.tolist(), TAIL))
    with pytest.raises(TypeError, match="'triples\\[2\\]' must hold integer"):
        c.fit((HEAD, REL, TAIL.float()))
    with pytest.raises(ValueError, match="'triples\\[0\\]' must have 1 dim"):
        c.fit((EDGE_INDEX, REL, TAIL))
    with pytest.raises(ValueError, match="'triples\\[2\\]' must have one"):
        c.fit((HEAD, REL, TAIL[:3]))
    with pytest.raises(ValueError, match="'relation' must be given with"):
        c.fit(EDGE_INDEX)
    with pytest.raises(ValueError, match="'triples' must have shape \\[3"):
        c.fit(torch.zeros(4, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="'triples' must have shape \\[2"):
        c.fit(torch.stack([HEAD, REL, TAIL]), REL)
    with pytest.raises(ValueError, match="'triples' must have 2 dim"):
        c.fit(HEAD)
    with pytest.raises(TypeError, match="'relation' must hold integer"):
        c.fit(EDGE_INDEX, REL.float())
    with pytest.raises(ValueError, match="'relation' must have one entry"):
        c.fit(EDGE_INDEX, REL[:4])
    with pytest.raises(ValueError, match="'extra_positives\\[1\\]' must"):
        c.fit(EDGE_INDEX, REL, extra_positives=(EDGE_INDEX, REL[:2]))
    with pytest.raises(TypeError, match="'extra_positives\\[0\\]' must be a"):
        c.fit(EDGE_INDEX, REL, extra_positives=['x'])
