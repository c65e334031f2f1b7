// The wire contract, loaded from proto/xtbridge.proto when the client starts (protobufjs
// parses the .proto itself), so there is no generated code to keep in step with the proto:
// the repository's proto/ is read in place, a packed copy (npm pack copies it into
// proto/) when installed elsewhere, or $XTBRIDGE_PROTO / the `protoPath` option.
// Field names stay as the proto spells them (keepCase): the vendor's attribute names,
// order_id, stock_code, ... exactly as in xtquant and the Python client.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Where xtbridge.proto is: explicit, $XTBRIDGE_PROTO, the packed copy, the repository's. */
export function protoFile(explicit) {
  const candidates = [explicit, process.env.XTBRIDGE_PROTO,
    path.join(here, '..', 'proto', 'xtbridge.proto'),
    path.join(here, '..', '..', '..', 'proto', 'xtbridge.proto')].filter(Boolean);
  for (const c of candidates) {
    if (fs.existsSync(c)) return c;
  }
  throw new Error(`xtbridge.proto not found (tried ${candidates.join(', ')}); ` +
    'set XTBRIDGE_PROTO or the protoPath option');
}

const cache = new Map();

/** The loaded contract: message types and the call names of Request.body. Cached per file. */
export function loadProto(explicit) {
  const file = protoFile(explicit);
  if (cache.has(file)) return cache.get(file);
  const root = new protobuf.Root();
  root.loadSync(file, { keepCase: true });
  root.resolveAll();
  const t = (name) => root.lookupType(`xtbridge.${name}`);
  const Request = t('Request');
  const Reply = t('Reply');
  const Event = t('Event');
  const ErrorCode = root.lookupEnum('xtbridge.ErrorCode');
  const calls = Request.oneofs.body.fieldsArray.map((f) => f.name);
  const proto = {
    file, root, Request, Reply, Event, ErrorCode, calls,
    /** name -> numeric code, code -> name */
    code: ErrorCode.values,
    codeName: (n) => ErrorCode.valuesById[n] || `UNKNOWN_ERROR_${n}`,
    /** the request message type of a call (its Request.body field) */
    requestType: (name) => Request.fields[name] && Request.fields[name].resolvedType,
    /** a decoded message as a plain object: every field (defaults included), int64 as Number */
    plain(type, msg) {
      return type.toObject(msg, { longs: Number, enums: Number, defaults: true, arrays: true,
        objects: true });
    },
  };
  cache.set(file, proto);
  return proto;
}

/** A uint64 as decoded by protobufjs (a Long, or a number without the long package). */
export function u64(v) {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

/** A uint64 as exact decimal text (for values past 2^53, such as bridge_epoch). */
export function u64str(v) {
  if (v === null || v === undefined) return '0';
  return typeof v === 'number' ? String(v) : v.toString();
}
