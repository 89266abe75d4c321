from torch_geometric_negsamp._repr import ArgumentRepr, format_repr


class _Thing(ArgumentRepr):
    def __init__(self, extra=''):
        self.extra = extra

    def _extra_repr(self):
        return self.extra

    def _repr_args(self):
        return ['a=1', self._extra_repr(), 'b=2']


def test_empty_parts_are_left_out():
    assert format_repr(_Thing(), 'x', '', 'y=3') == '_Thing(x, y=3)'
    assert format_repr(_Thing()) == '_Thing()'
    assert repr(_Thing()) == '_Thing(a=1, b=2)'
    assert repr(_Thing('c=3')) == '_Thing(a=1, c=3, b=2)'
