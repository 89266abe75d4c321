from sampler_contract import SamplerContract

from torch_geometric_negsamp import RegionSampler


class TestRegionSamplerContract(SamplerContract):
    sampler_cls = RegionSampler
    # Only the source's regions are drawn from (the adjacent region, which
    # holds more than the positives when adjacent_hops > 1, never), and a
    # node is always adjacent to itself: no self-negatives, no unfiltered
    # proposal.
    draws_everywhere = False
    allows_self = False
    supports_unfiltered = False


class TestRegionSamplerDistantShareContract(SamplerContract):
    sampler_cls = RegionSampler
    draws_everywhere = False
    allows_self = False
    supports_unfiltered = False

    def make(self, *args, **kwargs):
        return RegionSampler(*args, distant_share=0.25, **kwargs)
