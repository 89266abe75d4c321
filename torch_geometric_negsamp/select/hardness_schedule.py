r"""A warm-up of the hardness of model-aware selection."""

import math

from torch_geometric_negsamp._validate import (
    check_choice,
    check_int,
    check_positive_int,
    check_temperature,
)

_KINDS = ('linear', 'cosine')


class HardnessSchedule:
    r"""A warm-up from uniform towards hard negatives over the first
    :math:`N` epochs, for selectors that pick among :math:`M` candidates by
    their scores (:class:`DNS`, :class:`SoftmaxSelector`). Hard negatives
    from the first epoch score items against an untrained model (the
    "hard" ones are noise) and, on small data, overfit early. DENS (Lai et
    al., 2023, WSDM) warms its selection up the same way; the CNS baseline
    in the code of AHNS (Lai et al., 2024, AAAI) schedules the candidate
    count too, from hard to easy.

    The schedule's progress at epoch :math:`t` (counted from 0) is

    .. math::
        f(t) = \min(1, t / N) \quad \text{(linear)}, \qquad
        f(t) = \tfrac{1}{2}\bigl(1 - \cos(\pi \min(1, t / N))\bigr)
        \quad \text{(cosine)},

    and :math:`f = 1` throughout for :math:`N = 0`. It sets

    * the **candidate count** :math:`c(t) = 1 + \operatorname{round}(f(t)
      (M - 1))` (at least :math:`k`): DNS over the first :math:`c(t)`
      candidates of a uniform pool is uniform sampling at :math:`c = 1`
      and full DNS at :math:`c = M` (:meth:`num_candidates`);
    * the **inverse temperature** :math:`f(t) / \tau` of softmax selection,
      :math:`p_m \propto \exp(f(t) \, s_m / \tau)`: uniform at
      :math:`f = 0` (temperature :math:`\infty`), the target temperature
      :math:`\tau` at :math:`f = 1` (:meth:`scale`, the factor to multiply
      the scores by before a selector of temperature :math:`\tau`).

    The cosine kind stays near uniform longer and reaches the target more
    gently than the linear one.

    Args:
        epochs (int): The warm-up length :math:`N \geq 0` in epochs.
        kind (str, optional): :obj:`"linear"` or :obj:`"cosine"`.
            (default: :obj:`"linear"`)

    Example:
        >>> schedule = HardnessSchedule(10)
        >>> schedule.num_candidates(epoch=0, maximum=32)
        1
        >>> schedule.num_candidates(epoch=5, maximum=32)
        17
        >>> schedule.num_candidates(epoch=10, maximum=32)
        32
    """

    def __init__(self, epochs: int, kind: str = 'linear'):
        self.epochs = check_int(epochs, 'epochs', minimum=0)
        self.kind = check_choice(kind, 'kind', _KINDS)

    def progress(self, epoch: int) -> float:
        r"""The progress :math:`f(t) \in [0, 1]` at epoch :obj:`epoch`
        (:math:`t \geq 0`)."""
        epoch = check_int(epoch, 'epoch', minimum=0)
        if self.epochs == 0:
            return 1.0
        linear = min(1.0, epoch / self.epochs)
        if self.kind == 'linear':
            return linear
        return 0.5 * (1.0 - math.cos(math.pi * linear))

    def num_candidates(self, epoch: int, maximum: int, minimum: int = 1):
        r"""The candidate count :math:`c(t)` in ``[minimum, maximum]``
        (:obj:`minimum` is the number of negatives kept, :math:`k`)."""
        maximum = check_positive_int(maximum, 'maximum')
        minimum = check_int(minimum, 'minimum', minimum=1, maximum=maximum)
        count = 1 + math.floor(self.progress(epoch) * (maximum - 1) + 0.5)
        return max(minimum, count)

    def scale(self, epoch: int) -> float:
        r"""The factor :math:`f(t)` that multiplies the scores before a
        softmax selection of temperature :math:`\tau`, so that it samples
        at temperature :math:`\tau / f(t)` (uniformly at :math:`f = 0`)."""
        return self.progress(epoch)

    def temperature(self, epoch: int, target: float) -> float:
        r"""The effective temperature :math:`\tau / f(t)` at epoch
        :obj:`epoch` for the target :obj:`target` (:obj:`math.inf` while
        :math:`f = 0`)."""
        target = check_temperature(target, 'target')
        progress = self.progress(epoch)
        return math.inf if progress == 0 else target / progress

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(epochs={self.epochs}, '
            f"kind='{self.kind}')"
        )
