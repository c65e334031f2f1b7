"""xtquant.xtconstant -> xtbridge.xtconstant (every numeric code, same names and values)."""

from xtbridge.xtconstant import *  # noqa: F401,F403
from xtbridge.xtconstant import ACCOUNT_TYPE_DICT, MARKET_STR_TO_ENUM_MAPPING, ORDER_TYPE_SET  # noqa: F401
