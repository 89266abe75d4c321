r"""Small hand-made tensors shared by more than one test module
(importable from every test, as :mod:`tiny_data` is)."""

import torch

# Scores of two positives and their two negatives each. Asymmetric on
# purpose: no row holds a difference and its negation, so a loss with a
# flipped sign, an ignored margin or an ignored temperature gives other
# numbers.
POS = torch.tensor([2.0, -1.0])
NEG = torch.tensor([[0.5, 3.0], [0.0, -0.5]])


def idx(pairs):
    r"""``[2, E]`` long (user, item) pairs from a list of tuples."""
    if len(pairs) == 0:
        return torch.empty(2, 0, dtype=torch.long)
    return torch.tensor(pairs, dtype=torch.long).t()
