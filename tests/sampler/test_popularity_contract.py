from sampler_contract import SamplerContract

from torch_geometric_negsamp import PopularitySampler


class TestPopularitySamplerContract(SamplerContract):
    sampler_cls = PopularitySampler
    draws_everywhere = False  # destinations of degree zero are never drawn


class TestPopularityAlphaZeroContract(SamplerContract):
    sampler_cls = PopularitySampler

    def make(self, *args, **kwargs):
        return PopularitySampler(*args, alpha=0.0, **kwargs)

    draws_everywhere = False
