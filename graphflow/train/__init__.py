"""gf.train: optimizers (graph ops that update variables), schedules and checkpoints (Saver,
latest_checkpoint)."""

from .checkpoint_state import (  # noqa: F401
    CheckpointState,
    checkpoint_exists,
    get_checkpoint_state,
    latest_checkpoint,
    update_checkpoint_state,
)
from .optimizers import *  # noqa: F401,F403
from .saver import *  # noqa: F401,F403
from .schedules import *  # noqa: F401,F403
from .tf1_optimizers import *  # noqa: F401,F403
