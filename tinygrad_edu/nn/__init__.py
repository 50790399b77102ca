"""tinygrad_edu.nn: modules, layers, activations, losses and initialisation, PyTorch's names.

    from tinygrad_edu import nn
    import tinygrad_edu.nn.functional as F

    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    loss = nn.CrossEntropyLoss()(model(x), y)
"""

from . import functional, init, utils
from .activation import (
                         ELU,
                         GELU,
                         LeakyReLU,
                         LogSoftmax,
                         ReLU,
                         Sigmoid,
                         SiLU,
                         Softmax,
                         Softplus,
                         Tanh,
)
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv_layers import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d
from .layers import Dropout, Embedding, Flatten, Identity, Linear, Unflatten
from .losses import (
                         BCELoss,
                         BCEWithLogitsLoss,
                         CrossEntropyLoss,
                         HuberLoss,
                         L1Loss,
                         MSELoss,
                         NLLLoss,
                         SmoothL1Loss,
                         l1_penalty,
                         l2_penalty,
)
from .module import Module, Parameter, RemovableHandle
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm
from .utils import clip_grad_norm_, clip_grad_value_

__all__ = [
    "functional", "init", "utils", "clip_grad_norm_", "clip_grad_value_", "Module",
    "Parameter", "RemovableHandle", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
    "ParameterDict", "Identity",
    "Linear", "Flatten", "Unflatten", "Dropout", "Embedding",
    "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d",
    "LayerNorm", "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "GELU", "SiLU", "Softplus",
    "Softmax", "LogSoftmax", "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss",
    "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "l1_penalty", "l2_penalty",
]
