"""Layer rotation for PyTorch: the cosine distance of each layer's kernel to its initial value
(Carbonnelle & De Vleeschouwer, "Layer rotation"), Layca optimizers, a logger writing the Layer
Rotation Monitor's run log from your own training loop, and the monitor's PyTorch engine
(`python -m layer_rotation train CONFIG`)."""

__version__ = "0.1.0"

from .events import EventWriter  # noqa: E402
from .logger import RotationLogger  # noqa: E402
from .optim import (
    LaycaAdagrad,
    LaycaAdam,
    LaycaRMSprop,
    LaycaSGD,
    kernel_layers,
    layca_param_groups,
    layca_update_,
)  # noqa: E402
from .rotation import RotationTracker, cosine_distance, tensor_cosine_distance  # noqa: E402
from .schedule import alpha_multipliers, learning_rate_at  # noqa: E402

__all__ = [
    "__version__",
    "EventWriter",
    "RotationLogger",
    "RotationTracker",
    "LaycaSGD",
    "LaycaAdam",
    "LaycaRMSprop",
    "LaycaAdagrad",
    "layca_param_groups",
    "layca_update_",
    "kernel_layers",
    "cosine_distance",
    "tensor_cosine_distance",
    "alpha_multipliers",
    "learning_rate_at",
]
