/**
 * Just enough of Kubernetes' protobuf encoding to accept what `kubectl create
 * configmap|secret|namespace` sends (kubectl's typed clients send protobuf and do not fall back
 * to JSON). The body is the `k8s\0` magic and a `runtime.Unknown` envelope whose `raw` holds the
 * object; field numbers come from the Kubernetes `generated.proto` files. Any other kind is a
 * 415 that says to use `kubectl apply -f`.
 */
import { ApiError } from './api-error.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type FieldType = 'string' | 'bytes' | 'int' | 'bool' | 'stringMap' | 'bytesMap' | 'strings' | { message: Schema } | { messages: Schema };
interface Schema {
  [field: number]: [name: string, type: FieldType];
}

const OWNER_REFERENCE: Schema = {
  1: ['kind', 'string'],
  3: ['name', 'string'],
  4: ['uid', 'string'],
  5: ['apiVersion', 'string'],
  6: ['controller', 'bool'],
  7: ['blockOwnerDeletion', 'bool'],
};
const OBJECT_META: Schema = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  5: ['uid', 'string'],
  6: ['resourceVersion', 'string'],
  11: ['labels', 'stringMap'],
  12: ['annotations', 'stringMap'],
  13: ['ownerReferences', { messages: OWNER_REFERENCE }],
  14: ['finalizers', 'strings'],
};
const KINDS: Record<string, Schema> = {
  'v1/ConfigMap': { 1: ['metadata', { message: OBJECT_META }], 2: ['data', 'stringMap'], 3: ['binaryData', 'bytesMap'], 4: ['immutable', 'bool'] },
  'v1/Secret': {
    1: ['metadata', { message: OBJECT_META }],
    2: ['data', 'bytesMap'],
    3: ['type', 'string'],
    4: ['stringData', 'stringMap'],
    5: ['immutable', 'bool'],
  },
  'v1/Namespace': { 1: ['metadata', { message: OBJECT_META }], 2: ['spec', { message: { 1: ['finalizers', 'strings'] } }] },
};

interface Field {
  num: number;
  wire: number;
  int?: bigint;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 70n) throw new Error('varint too long');
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos);
      pos = p2;
      out.push({ num, wire, int: v });
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      const end = p2 + Number(len);
      if (end > buf.length) throw new Error('truncated field');
      out.push({ num, wire, bytes: buf.subarray(p2, end) });
      pos = end;
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

function decode(buf: Buffer, schema: Schema): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const f of fields(buf)) {
    const spec = schema[f.num];
    if (!spec) continue;
    const [name, type] = spec;
    if (type === 'string') obj[name] = f.bytes?.toString('utf8') ?? '';
    else if (type === 'bytes') obj[name] = (f.bytes ?? Buffer.alloc(0)).toString('base64');
    else if (type === 'int') obj[name] = Number(f.int ?? 0n);
    else if (type === 'bool') obj[name] = f.int === 1n;
    else if (type === 'strings') ((obj[name] ??= []) as string[]).push(f.bytes?.toString('utf8') ?? '');
    else if (type === 'stringMap' || type === 'bytesMap') {
      const entry = fields(f.bytes ?? Buffer.alloc(0));
      const k = entry.find((e) => e.num === 1)?.bytes?.toString('utf8') ?? '';
      const v = entry.find((e) => e.num === 2)?.bytes ?? Buffer.alloc(0);
      obj[name] ??= {} as Record<string, string>;
      (obj[name] as Record<string, string>)[k] = type === 'stringMap' ? v.toString('utf8') : v.toString('base64');
    } else if ('message' in type) obj[name] = decode(f.bytes ?? Buffer.alloc(0), type.message);
    else ((obj[name] ??= []) as unknown[]).push(decode(f.bytes ?? Buffer.alloc(0), type.messages));
  }
  return obj;
}

/** Decodes a `k8s\0`-framed protobuf object of a supported kind into its JSON form. */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw new ApiError(400, 'BadRequest', 'the body of the request was not a Kubernetes protobuf object (missing the k8s magic)');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  try {
    for (const f of fields(body.subarray(4))) {
      if (f.num === 1 && f.bytes) {
        const tm = decode(f.bytes, { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] });
        apiVersion = String(tm.apiVersion ?? '');
        kind = String(tm.kind ?? '');
      } else if (f.num === 2) raw = f.bytes;
    }
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the body of the request could not be decoded: ${(err as Error).message}`);
  }
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (!schema) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `devcluster decodes protobuf only for ConfigMap, Secret and Namespace, not ${kind || 'this object'}; send JSON (e.g. kubectl apply -f)`,
    );
  }
  try {
    return { apiVersion, kind, ...decode(raw ?? Buffer.alloc(0), schema) };
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the body of the request could not be decoded: ${(err as Error).message}`);
  }
}
