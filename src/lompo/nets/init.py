"""Weight initialisation of the TensorFlow world models LOMPO and DreamerV2 were published with.

Their Keras layers start from Glorot-uniform weights (``U(±sqrt(6 / (fan_in + fan_out)))``) and zero
biases, and Keras' GRU cell from Glorot-uniform input weights, orthogonal recurrent weights and zero
biases. PyTorch's defaults differ: weights ``U(±1/sqrt(fan_in))`` (a sixth of the variance of He
initialisation, ``2/fan_in``) and non-zero biases. Through the 4 + 4 layers of the conv encoder and decoder that
shrinks the frame's contribution to the reconstruction at initialisation, and the small `cpu` world
model then stayed at the mean image for 1,500 steps on random cartpole data (docs/lompo.md,
"Initialisation"). :func:`glorot_init` gives a model the published initialisation.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lompo.nets.mlp import EnsembleLinear

INITS = ("glorot", "torch")  # the published (Keras) initialisation, or PyTorch's layer defaults


def glorot_bound(fan_in: int, fan_out: int) -> float:
    """Half-width of the Glorot-uniform distribution (Glorot & Bengio 2010, eq. 16)."""
    return math.sqrt(6.0 / (fan_in + fan_out))


@torch.no_grad()
def glorot_init(module: nn.Module) -> nn.Module:
    """Re-initialise every linear, convolution, transposed convolution, ensemble linear layer and GRU
    cell in ``module`` as Keras does (Glorot-uniform, orthogonal recurrent weights, zero biases); other
    parameters are left alone. Returns ``module``."""
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            # torch's fan computation matches Keras' for these layouts (kernel area x channels).
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, EnsembleLinear):  # weight (K, in, out): each member its own Glorot layer
            _, fan_in, fan_out = layer.weight.shape
            bound = glorot_bound(fan_in, fan_out)
            layer.weight.uniform_(-bound, bound)
            layer.bias.zero_()
        elif isinstance(layer, nn.GRUCell):  # the three gates' kernels as one matrix, as in Keras
            nn.init.xavier_uniform_(layer.weight_ih)  # (3 units, in): Glorot over in + 3 units
            nn.init.orthogonal_(layer.weight_hh)  # (3 units, units): orthonormal columns
            nn.init.zeros_(layer.bias_ih)
            nn.init.zeros_(layer.bias_hh)
    return module
