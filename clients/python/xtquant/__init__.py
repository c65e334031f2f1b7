"""Drop-in `xtquant` package backed by xtbridge: `from xtquant.xttrader import XtQuantTrader`
and `from xtquant import xtconstant` work unchanged and talk to the bridge. Only the
trading modules exist (xttrader, xttype, xtconstant); market data (xtdata) is not here."""

__version__ = '0.1.0'
