"""xtbridge: the MiniQMT trading API (xtquant.xttrader) over the xtbridge ZeroMQ bus.

Modules mirror the vendor's: xtbridge.xttrader (XtQuantTrader, XtQuantTraderCallback),
xtbridge.xttype (StockAccount, Xt* structures), xtbridge.xtconstant (numeric codes).
The sibling `xtquant` package re-exports them so existing strategies run unchanged.
"""

__version__ = '0.1.0'
