#coding=utf-8
"""xtquant.xttype for xtbridge: StockAccount and every Xt* structure with the vendor's names.

Strategies read these objects' attributes (order.order_status, detail.m_dBalance, ...),
so each class carries exactly the documented attributes, plus the later additions the
bridge sends (stock_code1, secu_account, instrument_name, commission, error_msg, seq) and
its extension XtOrder.requested_price_type: price_type is what MiniQMT reports, the
counter's own code (50 limit, 88 market ...), requested_price_type the xtconstant code the
order was sent with (11 FIX_PRICE; 0 when the backend cannot know it).
The classes are plain data holders: built by the client from the bridge's protobuf
messages (same field names, see proto/xtbridge.proto) via `_from_pb`, or by hand with
positional / keyword arguments in the listed attribute order.
"""

from . import xtconstant


class StockAccount(object):
    """A trading account: account_id plus numeric account_type (default 'STOCK' = 2).

    account_type may be the string form ('STOCK', 'CREDIT', 'FUTURE', 'HUGANGTONG', ...)
    or the number from xtconstant; an unknown string raises ValueError.
    """

    def __init__(self, account_id, account_type='STOCK'):
        if isinstance(account_type, str):
            wanted = account_type.upper()
            for number, name in xtconstant.ACCOUNT_TYPE_DICT.items():
                if name == wanted:
                    account_type = number
                    break
            else:
                raise ValueError('unknown account type: %r' % (account_type,))
        self.account_type = int(account_type)
        self.account_id = str(account_id)

    def __repr__(self):
        return 'StockAccount(%r, %r)' % (
            self.account_id, xtconstant.ACCOUNT_TYPE_DICT.get(self.account_type, self.account_type))

    def __eq__(self, other):
        return (isinstance(other, StockAccount) and self.account_id == other.account_id
                and self.account_type == other.account_type)

    def __hash__(self):
        return hash((self.account_id, self.account_type))


class _XtData(object):
    """Base of the Xt* structures: `_fields` is a list of (attribute, default) pairs."""

    _fields = ()

    def __init__(self, *args, **kwargs):
        names = [name for name, _ in self._fields]
        if len(args) > len(names):
            raise TypeError('%s takes at most %d arguments' % (type(self).__name__, len(names)))
        for name, default in self._fields:
            setattr(self, name, default)
        for name, value in zip(names, args):
            setattr(self, name, value)
        for name, value in kwargs.items():
            if name not in names:
                raise TypeError('%s has no attribute %r' % (type(self).__name__, name))
            setattr(self, name, value)

    @classmethod
    def _from_pb(cls, msg):
        """Copy the same-named fields of a protobuf message; missing ones keep their default."""
        obj = cls.__new__(cls)
        for name, default in cls._fields:
            setattr(obj, name, getattr(msg, name, default))
        return obj

    def _asdict(self):
        return {name: getattr(self, name) for name, _ in self._fields}

    def __repr__(self):
        return '%s(%s)' % (type(self).__name__,
                           ', '.join('%s=%r' % (n, getattr(self, n)) for n, _ in self._fields))

    def __eq__(self, other):
        return type(self) is type(other) and self._asdict() == other._asdict()

    __hash__ = None


def _spec(text):
    """'name:i name:s name:f name:b' -> ((name, 0), (name, ''), (name, 0.0), (name, False))."""
    defaults = {'i': 0, 's': '', 'f': 0.0, 'b': False}
    out = []
    for item in text.split():
        name, kind = item.split(':')
        out.append((name, defaults[kind]))
    return tuple(out)


class XtAsset(_XtData):
    _fields = _spec('account_type:i account_id:s cash:f frozen_cash:f market_value:f total_asset:f')


class XtOrder(_XtData):
    _fields = _spec(
        'account_type:i account_id:s stock_code:s order_id:i order_sysid:s order_time:i '
        'order_type:i order_volume:i price_type:i price:f traded_volume:i traded_price:f '
        'order_status:i status_msg:s strategy_name:s order_remark:s direction:i offset_flag:i '
        'stock_code1:s secu_account:s instrument_name:s requested_price_type:i')


class XtTrade(_XtData):
    _fields = _spec(
        'account_type:i account_id:s stock_code:s order_type:i traded_id:s traded_time:i '
        'traded_price:f traded_volume:i traded_amount:f order_id:i order_sysid:s strategy_name:s '
        'order_remark:s direction:i offset_flag:i commission:f stock_code1:s secu_account:s '
        'instrument_name:s')


class XtPosition(_XtData):
    _fields = _spec(
        'account_type:i account_id:s stock_code:s volume:i can_use_volume:i open_price:f '
        'market_value:f frozen_volume:i on_road_volume:i yesterday_volume:i avg_price:f '
        'direction:i stock_code1:s secu_account:s instrument_name:s last_price:f')


class XtPositionStatistics(_XtData):
    _fields = _spec(
        'account_id:s exchange_id:s exchange_name:s product_id:s instrument_id:s '
        'instrument_name:s direction:i hedge_flag:i position:i yesterday_position:i '
        'today_position:i can_close_vol:i position_cost:f avg_price:f position_profit:f '
        'float_profit:f open_price:f open_cost:f used_margin:f used_commission:f '
        'frozen_margin:f frozen_commission:f instrument_value:f open_times:i open_volume:i '
        'cancel_times:i last_price:f rise_ratio:f product_name:s royalty:f expire_date:s '
        'assest_weight:f increase_by_settlement:f margin_ratio:f '
        'float_profit_divide_by_used_margin:f float_profit_divide_by_balance:f '
        'today_profit_loss:f yesterday_init_position:i frozen_royalty:f '
        'today_close_profit_loss:f close_profit:f ft_product_name:s')


class XtOrderResponse(_XtData):
    _fields = _spec('account_type:i account_id:s order_id:i strategy_name:s order_remark:s '
                    'seq:i error_msg:s')


class XtCancelOrderResponse(_XtData):
    _fields = _spec('account_type:i account_id:s order_id:i order_sysid:s cancel_result:i '
                    'seq:i error_msg:s')


class XtOrderError(_XtData):
    _fields = _spec('account_type:i account_id:s order_id:i error_id:i error_msg:s '
                    'strategy_name:s order_remark:s seq:i')


class XtCancelError(_XtData):
    _fields = _spec('account_type:i account_id:s order_id:i market:i order_sysid:s '
                    'error_id:i error_msg:s seq:i')


class XtCreditDetail(_XtData):
    _fields = _spec(
        'account_type:i account_id:s m_nStatus:i m_nUpdateTime:i m_nCalcConfig:i '
        'm_dFrozenCash:f m_dBalance:f m_dAvailable:f m_dPositionProfit:f m_dMarketValue:f '
        'm_dFetchBalance:f m_dStockValue:f m_dFundValue:f m_dTotalDebt:f '
        'm_dEnableBailBalance:f m_dPerAssurescaleValue:f m_dAssureAsset:f m_dFinDebt:f '
        'm_dFinDealAvl:f m_dFinFee:f m_dSloDebt:f m_dSloMarketValue:f m_dSloFee:f '
        'm_dOtherFare:f m_dFinMaxQuota:f m_dFinEnableQuota:f m_dFinUsedQuota:f '
        'm_dSloMaxQuota:f m_dSloEnableQuota:f m_dSloUsedQuota:f m_dSloSellBalance:f '
        'm_dUsedSloSellBalance:f m_dSurplusSloSellBalance:f')


class StkCompacts(_XtData):
    _fields = _spec(
        'account_type:i account_id:s compact_type:i cashgroup_prop:i exchange_id:i '
        'open_date:i business_vol:i real_compact_vol:i ret_end_date:i business_balance:f '
        'businessFare:f real_compact_balance:f real_compact_fare:f repaid_fare:f '
        'repaid_balance:f instrument_id:s compact_id:s position_str:s')


class CreditSubjects(_XtData):
    _fields = _spec('account_type:i account_id:s slo_status:i fin_status:i exchange_id:i '
                    'slo_ratio:f fin_ratio:f instrument_id:s')


class CreditSloCode(_XtData):
    _fields = _spec('account_type:i account_id:s cashgroup_prop:i exchange_id:i '
                    'enable_amount:i instrument_id:s')


class CreditAssure(_XtData):
    _fields = _spec('account_type:i account_id:s assure_status:i exchange_id:i '
                    'assure_ratio:f instrument_id:s')


class XtAccountStatus(_XtData):
    _fields = _spec('account_type:i account_id:s status:i')


class XtAccountInfo(_XtData):
    _fields = _spec('account_type:i account_id:s broker_type:i platform_id:i '
                    'account_classification:i login_status:i')


class XtSmtAppointmentResponse(_XtData):
    # seq/success/msg/apply_id are the documented attributes; the rest are what the
    # vendor's own callback example prints (account_id, order_sysid, error_id, error_msg).
    _fields = _spec('seq:i success:b msg:s apply_id:s account_id:s account_type:i '
                    'order_sysid:s error_id:i error_msg:s')


# Alias used by the vendor doc's callback docstring ("XtAppointmentResponse 对象").
XtAppointmentResponse = XtSmtAppointmentResponse

__all__ = [
    'StockAccount', 'XtAsset', 'XtOrder', 'XtTrade', 'XtPosition', 'XtPositionStatistics',
    'XtOrderResponse', 'XtCancelOrderResponse', 'XtOrderError', 'XtCancelError',
    'XtCreditDetail', 'StkCompacts', 'CreditSubjects', 'CreditSloCode', 'CreditAssure',
    'XtAccountStatus', 'XtAccountInfo', 'XtSmtAppointmentResponse', 'XtAppointmentResponse',
]
