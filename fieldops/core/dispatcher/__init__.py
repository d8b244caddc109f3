"""The robot dispatcher, sans-io (see :mod:`.control` for what it decides):

- :mod:`.control`: :class:`Dispatcher`, fed what arrives and the time, answering with effects;
- :mod:`.effects`: what it asks its shell to do (publish, step status, problems, ...);
- :mod:`.robot`: what it knows of one robot;
- :mod:`.precedence` and :mod:`.sending`: its two halves, releasing work as dependencies
  allow, and building and sending orders.
"""

from __future__ import annotations

from fieldops.core.dispatcher.control import (  # noqa: F401
    REJECTIONS,
    STATE_TIMEOUT_S,
    Dispatcher,
)
from fieldops.core.dispatcher.effects import (  # noqa: F401
    Effect,
    Log,
    Publish,
    RobotConnection,
    RobotProblem,
    StepStatus,
    Unblock,
)
from fieldops.core.dispatcher.robot import Robot  # noqa: F401
