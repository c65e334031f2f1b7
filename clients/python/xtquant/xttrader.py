"""xtquant.xttrader -> xtbridge.xttrader (XtQuantTrader, XtQuantTraderCallback)."""

from xtbridge.xttrader import *  # noqa: F401,F403
from xtbridge.xttrader import XtQuantTrader, XtQuantTraderCallback  # noqa: F401
