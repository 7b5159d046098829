"""Neural network building blocks shared by the algorithms."""

from lompo.nets.conv import ConvDecoder, ConvEncoder, conv_layout
from lompo.nets.mlp import EnsembleLinear, EnsembleMLP, mlp
from lompo.nets.rssm import EnsembleRSSM, LatentState

__all__ = [
    "ConvDecoder",
    "ConvEncoder",
    "conv_layout",
    "EnsembleLinear",
    "EnsembleMLP",
    "mlp",
    "EnsembleRSSM",
    "LatentState",
]
