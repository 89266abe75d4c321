import math

import pytest
import torch
from scipy.stats import chisquare

from torch_geometric_negsamp.select import (
    DNS,
    HardnessSchedule,
    SoftmaxSelector,
)


def test_linear_progress_and_counts_by_hand():
    schedule = HardnessSchedule(10)
    assert [schedule.progress(t) for t in (0, 1, 5, 10, 30)] == [
        0.0,
        0.1,
        0.5,
        1.0,
        1.0,
    ]
    # c = 1 + floor(f (M - 1) + 1/2) with M = 32: 1, 4 (1 + 3.1), 17, 32.
    assert [schedule.num_candidates(t, 32) for t in (0, 1, 5, 10)] == [
        1,
        4,
        17,
        32,
    ]
    # Never fewer than the k negatives kept:
    assert schedule.num_candidates(0, 32, minimum=4) == 4
    assert schedule.num_candidates(7, 1) == 1


def test_cosine_progress_by_hand():
    schedule = HardnessSchedule(4, kind='cosine')
    # (1 - cos(pi t / 4)) / 2: 0, (1 - 1/sqrt 2) / 2, 1/2, ..., 1
    expected = [0.0, (1 - math.sqrt(0.5)) / 2, 0.5, (1 + math.sqrt(0.5)) / 2]
    for t, value in enumerate(expected):
        assert schedule.progress(t) == pytest.approx(value, abs=1e-12)
    assert schedule.progress(4) == pytest.approx(1.0)
    assert schedule.progress(9) == 1.0
    # It stays nearer uniform than the linear schedule early on:
    assert schedule.progress(1) < HardnessSchedule(4).progress(1)
    assert repr(schedule) == "HardnessSchedule(epochs=4, kind='cosine')"


def test_temperature_and_scale():
    schedule = HardnessSchedule(4)
    assert schedule.temperature(0, 0.5) == math.inf
    assert schedule.temperature(1, 0.5) == pytest.approx(2.0)
    assert schedule.temperature(8, 0.5) == pytest.approx(0.5)
    assert schedule.scale(2) == 0.5
    # No warm-up: the target from the start.
    none = HardnessSchedule(0)
    assert none.progress(0) == none.scale(0) == 1.0
    assert none.num_candidates(0, 32) == 32


def test_first_epoch_selection_is_uniform():
    # DNS over the schedule's single candidate keeps the proposal's draw;
    # the softmax at scale 0 picks uniformly whatever the scores.
    schedule = HardnessSchedule(5)
    scores = torch.tensor([[5.0, -3.0, 0.0, 9.0]]).expand(6000, 4)
    count = schedule.num_candidates(0, 4)
    assert DNS(1)(scores[:, :count]).unique().tolist() == [0]
    selector = SoftmaxSelector(1, temperature=0.1, seed=0)
    index, log_p = selector(scores * schedule.scale(0))
    assert torch.allclose(log_p, torch.full_like(log_p, -math.log(4)))
    counts = torch.bincount(index.view(-1), minlength=4)
    assert chisquare(counts.numpy()).pvalue > 1e-3
    # Halfway (scale 1/2 at temperature 1): p = softmax(s / 2).
    half = HardnessSchedule(4).scale(2)
    index, _ = SoftmaxSelector(1, seed=1)(scores * half)
    expected = torch.softmax(scores[0].double() * 0.5, 0) * 6000
    counts = torch.bincount(index.view(-1), minlength=4).double()
    assert bool((expected > 5).all())  # chi-square's rule of thumb
    assert chisquare(counts.numpy(), expected.numpy()).pvalue > 1e-3


def test_schedule_errors():
    with pytest.raises(ValueError, match="'epochs' must be non-negative"):
        HardnessSchedule(-1)
    with pytest.raises(TypeError, match="'epochs' must be an int"):
        HardnessSchedule(2.5)
    with pytest.raises(ValueError, match="'kind' must be one of"):
        HardnessSchedule(3, kind='exp')
    schedule = HardnessSchedule(3)
    with pytest.raises(ValueError, match="'epoch' must be non-negative"):
        schedule.progress(-1)
    with pytest.raises(ValueError, match="'maximum' must be a positive"):
        schedule.num_candidates(1, 0)
    with pytest.raises(ValueError, match="'minimum' must be at most 4"):
        schedule.num_candidates(1, 4, minimum=5)
    with pytest.raises(ValueError, match="'target' must be positive"):
        schedule.temperature(1, 0.0)
