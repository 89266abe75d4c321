from sampler_contract import SamplerContract

from torch_geometric_negsamp import UniformSampler


class TestUniformSamplerContract(SamplerContract):
    sampler_cls = UniformSampler
