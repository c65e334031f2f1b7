// Types of the xtbridge Node client (lib/trader.js). Message objects keep the proto's field
// names (the vendor's: order_id, stock_code, ...); their interfaces are generated from
// proto/xtbridge.proto into messages.d.ts (tools/gen-types.mjs). int64 values are numbers.
import type { CallRequests, CallResults, GenericCalls, XtAccountInfo, XtAccountStatus, XtAsset,
  XtCancelError, XtCancelOrderResponse, XtOrder, XtOrderError, XtOrderResponse, XtPosition,
  XtSmtAppointmentResponse, XtTrade, HelloReply, RiskKillSwitchReply, SimReply,
  SuccessMsgReply, ComFund } from './messages.js';

// every message of the proto, generated from it by tools/gen-types.mjs (npm run build)
export type * from './messages.js';

export type Account = string | { account_id: string; account_type?: number }
  | { accountId: string; accountType?: number };

export interface CurveKeys { serverKey: string; publicKey: string; secretKey: string }
export interface CurveCertFiles { cert: string; server: string }

export interface TraderOptions {
  /** the bridge's ROUTER endpoint (default $XTBRIDGE_ENDPOINT or tcp://127.0.0.1:58610) */
  endpoint?: string;
  /** PUB endpoint(s), comma list, instead of the one hello announces */
  pubEndpoint?: string;
  curve?: CurveKeys | CurveCertFiles;
  /** how long a call may take, retries included (10000) */
  timeoutMs?: number;
  /** re-send interval of an unanswered request, same request id (min(1000, timeoutMs / 4)) */
  retryMs?: number;
  clientName?: string;
  /** events per replay page; 0 = the bridge's default (500) */
  replayMaxEvents?: number;
  /** delay of the replay that follows subscribe() (150) */
  postSubscribeReplayMs?: number;
  /** xtbridge.proto to load (default $XTBRIDGE_PROTO, the packed copy, the repository's) */
  protoPath?: string;
  logger?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

export interface CallOptions { timeoutMs?: number; requestId?: string }

/** Per push: where it came from on the bus. */
export interface PushMeta { topic: string; seq: number; bridge_epoch: string; time_ns: string }

export type Msg = Record<string, any>;

export class XtBridgeError extends Error {
  /** ErrorCode name ('INVALID_ARGUMENT', 'FORBIDDEN', ...) or the client's own: 'NO_REPLY',
   * 'NOT_CONNECTED_CLIENT', 'NO_HEARTBEAT', 'NO_PUB_ENDPOINT', 'BAD_REPLY', 'UNKNOWN_CALL' */
  code: string;
  /** the bridge's numeric ErrorCode; null when the client raised it */
  errorCode: number | null;
  bridgeMessage: string;
  call?: string;
  requestId?: string;
}

export interface TraderEvents {
  stock_order: [XtOrder, PushMeta];
  stock_trade: [XtTrade, PushMeta];
  order_error: [XtOrderError, PushMeta];
  cancel_error: [XtCancelError, PushMeta];
  order_stock_async_response: [XtOrderResponse, PushMeta];
  cancel_order_stock_async_response: [XtCancelOrderResponse, PushMeta];
  stock_asset: [XtAsset, PushMeta];
  stock_position: [XtPosition, PushMeta];
  account_status: [XtAccountStatus, PushMeta];
  smt_appointment_async_response: [XtSmtAppointmentResponse, PushMeta];
  /** on a change only: the bridge's connected. push ({instance_id, backend}), or
   * {reason: 'heartbeats are back' | 'bridge restarted (new instance id)'} */
  connected: [Msg, PushMeta | null];
  /** on a change only: the bridge's disconnected. push ({reason}: shutdown, terminal
   * session lost), or {reason: 'no heartbeat for N ms'} */
  disconnected: [Msg, PushMeta | null];
  heartbeat: [{ instance_id: string; uptime_ms: number; interval_ms: number }, PushMeta];
  epoch_change: [{ from: string; to: string }];
  push: [Msg & PushMeta & { kind: string; body: Msg }];
}

// calls served generically (the request's fields) are typed in GenericCalls
export interface Trader extends GenericCalls {}
export class Trader {
  constructor(opts?: TraderOptions);
  hello: (HelloReply & { bridge_epoch: string }) | null;
  connected: boolean;
  alive: boolean;
  pubEndpoints?: string[];
  pushStats: { duplicates: number; gaps: number; replayPages: number; catchUps: number };

  // a node:events EventEmitter (declared here without @types/node, so these types stand alone)
  on<K extends keyof TraderEvents>(event: K, listener: (...args: TraderEvents[K]) => void): this;
  once<K extends keyof TraderEvents>(event: K, listener: (...args: TraderEvents[K]) => void): this;
  off<K extends keyof TraderEvents>(event: K, listener: (...args: TraderEvents[K]) => void): this;
  addListener<K extends keyof TraderEvents>(event: K,
    listener: (...args: TraderEvents[K]) => void): this;
  removeListener<K extends keyof TraderEvents>(event: K,
    listener: (...args: TraderEvents[K]) => void): this;
  removeAllListeners(event?: keyof TraderEvents): this;
  listenerCount(event: keyof TraderEvents): number;

  connect(): Promise<HelloReply & { bridge_epoch: string }>;
  close(): Promise<void>;
  /** any call by its Request.body name, fields by proto name; the reply's result */
  call<K extends keyof CallRequests>(name: K, fields?: Partial<CallRequests[K]>,
    opts?: CallOptions): Promise<CallResults[K]>;
  call(name: string, fields?: Msg, opts?: CallOptions): Promise<Msg>;
  /** the raw decoded Reply, or null without one; never rejects */
  request(name: string, fields?: Msg, opts?: CallOptions): Promise<Msg | null>;

  subscribe(account: Account): Promise<number>;
  unsubscribe(account: Account): Promise<number>;

  orderStock(account: Account, stockCode: string, orderType: number, orderVolume: number,
    priceType: number, price: number, strategyName?: string, orderRemark?: string,
    opts?: CallOptions): Promise<number>;
  orderStockAsync(account: Account, stockCode: string, orderType: number, orderVolume: number,
    priceType: number, price: number, strategyName?: string, orderRemark?: string,
    opts?: CallOptions): Promise<number>;
  cancelOrderStock(account: Account, orderId: number, opts?: CallOptions): Promise<number>;
  cancelOrderStockAsync(account: Account, orderId: number, opts?: CallOptions): Promise<number>;
  cancelOrderStockSysid(account: Account, market: number, orderSysid: string,
    opts?: CallOptions): Promise<number>;
  cancelOrderStockSysidAsync(account: Account, market: number, orderSysid: string,
    opts?: CallOptions): Promise<number>;
  fundTransfer(account: Account, transferDirection: number, price: number):
    Promise<SuccessMsgReply>;
  syncTransactionFromExternal(operation: string, dataType: string, account: Account,
    dealList: Msg[]): Promise<Msg>;
  setRelaxedResponseOrderEnabled(enabled: boolean): Promise<null>;

  queryStockAsset(account: Account): Promise<XtAsset | null>;
  queryStockOrder(account: Account, orderId: number): Promise<XtOrder | null>;
  queryStockOrders(account: Account, cancelableOnly?: boolean): Promise<XtOrder[]>;
  queryStockTrades(account: Account): Promise<XtTrade[]>;
  queryStockPosition(account: Account, stockCode: string): Promise<XtPosition | null>;
  queryStockPositions(account: Account): Promise<XtPosition[]>;
  queryPositionStatistics(account: Account): Promise<Msg[]>;
  queryCreditDetail(account: Account): Promise<Msg[]>;
  queryStkCompacts(account: Account): Promise<Msg[]>;
  queryCreditSubjects(account: Account): Promise<Msg[]>;
  queryCreditSloCode(account: Account): Promise<Msg[]>;
  queryCreditAssure(account: Account): Promise<Msg[]>;
  queryNewPurchaseLimit(account: Account): Promise<Record<string, number>>;
  queryIpoData(): Promise<Record<string, Msg>>;
  queryAccountInfos(): Promise<XtAccountInfo[]>;
  queryAccountStatus(): Promise<XtAccountStatus[]>;
  queryComFund(account: Account): Promise<ComFund>;
  queryComPosition(account: Account): Promise<Msg[]>;
  exportData(account: Account, resultPath: string, dataType: string, startTime?: string | null,
    endTime?: string | null, userParam?: Msg): Promise<Msg>;
  queryData(account: Account, resultPath: string, dataType: string, startTime?: string | null,
    endTime?: string | null, userParam?: Msg): Promise<Msg>;
  smtQueryQuoter(account: Account): Promise<Msg[]>;
  smtNegotiateOrderAsync(account: Account, srcGroupId: string, orderCode: string, date: number,
    amount: number, applyRate: number, dictParam?: Msg): Promise<number>;
  smtQueryCompact(account: Account): Promise<Msg[]>;

  helloCall(): Promise<HelloReply>;
  ping(): Promise<{ client_time_ns: string; bridge_time_ns: string; rtt_ms: number }>;
  // replay() and stats(): GenericCalls
  riskKillSwitch(account: Account | null, engaged: boolean, cancelOpen?: boolean):
    Promise<RiskKillSwitchReply>;
  simSetPrice(stockCode: string, lastPrice: number,
    opts?: { preClose?: number; liquidity?: number }): Promise<SimReply>;
  simTick(stockCode?: string, lastPrice?: number): Promise<SimReply>;
  simNextDay(): Promise<SimReply>;
  simSetAccountStatus(account: Account, status: number): Promise<SimReply>;
}

export const ACCOUNT_KINDS: string[];
export const PUSH_EVENTS: Record<string, string>;
export const DEFAULT_ENDPOINT: string;
export function pubEndpointFor(announced: string, routerEndpoint: string): string;
export function readCertFile(file: string): { publicKey: string; secretKey: string | null };
export function toAccount(a: Account): { account_id: string; account_type: number };
export function camelName(name: string): string;
export function loadProto(file?: string): Msg;
export function protoFile(file?: string): string;
