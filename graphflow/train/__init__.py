"""gf.train: optimizers (graph ops that update variables), schedules and checkpoints (Saver)."""

from .optimizers import *  # noqa: F401,F403
from .saver import *  # noqa: F401,F403
from .schedules import *  # noqa: F401,F403
from .tf1_optimizers import *  # noqa: F401,F403
