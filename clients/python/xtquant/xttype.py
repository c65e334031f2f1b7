"""xtquant.xttype -> xtbridge.xttype (StockAccount and the Xt* structures)."""

from xtbridge.xttype import *  # noqa: F401,F403
