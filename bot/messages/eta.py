"""The status message's estimate of the time left (issue 15), from how long recent jobs of the same kind took."""

import math

from bot.i18n import Template as _
from bot.i18n import Text
from bot.messages import duration_text

LABEL_TIME_LEFT = _("Estimate")  # the Discord embed field's name
TIME_LEFT = _("About {time} left")
TIME_LEFT_UNDER_A_MINUTE = _("Less than a minute left")
TIME_ONCE_STARTED = _("About {time} once it starts")


def time_left_text(seconds: float, *, once_started: bool = False) -> Text:
    """`About 3 min left` (rounded up to the minute), `Less than a minute left`, `About 4 min once it starts`."""
    if seconds < 60 and not once_started:
        return TIME_LEFT_UNDER_A_MINUTE.format()
    time = duration_text(60 * max(1, math.ceil(seconds / 60)))
    return (TIME_ONCE_STARTED if once_started else TIME_LEFT).format(time=time)
