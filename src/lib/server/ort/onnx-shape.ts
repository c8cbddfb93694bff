/**
 * @file A minimal ONNX protobuf editor for one export quirk: graph outputs whose batch dimension is fixed at 1
 * while the input's batch is dynamic (insightface's ArcFace exports: input `input.1` [None,3,112,112], output
 * [1,512]). onnxruntime computes a batch of B correctly but logs "VerifyOutputSizes: Expected shape {1,512} does
 * not match actual shape {B,512}" on every run. `relaxFixedOutputBatch` rewrites only the declared shape of
 * those outputs (dim 0 becomes the input's symbolic name); no node, initializer or value changes.
 *
 * Wire format (protobuf): a message is a sequence of fields `tag varint (field << 3 | wire type)` + payload.
 * Path edited: ModelProto.graph (7) → GraphProto.output (12) → ValueInfoProto.type (2) → TypeProto.tensor_type
 * (1) → Tensor.shape (2) → TensorShapeProto.dim (1) → Dimension.dim_value (1) / dim_param (2). Every other byte
 * is copied as is.
 */

interface Field {
  readonly no: number;
  readonly wire: number;
  /** Whole field (tag + payload). */
  readonly start: number;
  readonly end: number;
  /** Payload of a length-delimited field (wire type 2); for varints, the varint's bytes. */
  readonly valueStart: number;
}

function readVarint(b: Uint8Array, pos: number): { value: number; next: number } {
  let value = 0;
  let mul = 1;
  let p = pos;
  for (;;) {
    if (p >= b.length) throw new Error('truncated varint');
    const byte = b[p++];
    value += (byte & 0x7f) * mul;
    if (!(byte & 0x80)) return { value, next: p };
    mul *= 128;
    if (p - pos > 10) throw new Error('varint too long');
  }
}

function writeVarint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** The fields of one message (`b[from, to)`). @throws Error on malformed bytes. */
function fields(b: Uint8Array, from = 0, to = b.length): Field[] {
  const out: Field[] = [];
  let p = from;
  while (p < to) {
    const start = p;
    const tag = readVarint(b, p);
    p = tag.next;
    const no = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    const valueStart = p;
    if (wire === 0) p = readVarint(b, p).next;
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const len = readVarint(b, p);
      p = len.next + len.value;
      out.push({ no, wire, start, end: p, valueStart: len.next });
      if (p > to) throw new Error('field runs past its message');
      continue;
    } else throw new Error(`unsupported wire type ${wire}`);
    if (p > to) throw new Error('field runs past its message');
    out.push({ no, wire, start, end: p, valueStart });
  }
  return out;
}

function lenField(no: number, payload: Uint8Array): Uint8Array {
  const head = [...writeVarint(no * 8 + 2), ...writeVarint(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A message with some of its fields replaced (by field start offset); other bytes copied as they are. */
function rebuild(b: Uint8Array, fs: readonly Field[], replace: ReadonlyMap<number, Uint8Array>): Uint8Array {
  return concat(fs.map((f) => replace.get(f.start) ?? b.subarray(f.start, f.end)));
}

const sub = (b: Uint8Array, f: Field) => b.subarray(f.valueStart, f.end);

/** The dims of a ValueInfoProto's tensor shape, as fields of the TensorShapeProto bytes `shape`. */
function shapeDims(vi: Uint8Array): { dims: Field[]; shapeBytes: Uint8Array; path: { type: Field; tensor: Field; shape: Field } } | null {
  const type = fields(vi).find((f) => f.no === 2 && f.wire === 2);
  if (!type) return null;
  const t = sub(vi, type);
  const tensor = fields(t).find((f) => f.no === 1 && f.wire === 2);
  if (!tensor) return null;
  const tt = sub(t, tensor);
  const shape = fields(tt).find((f) => f.no === 2 && f.wire === 2);
  if (!shape) return null;
  const sh = sub(tt, shape);
  return { dims: fields(sh).filter((f) => f.no === 1 && f.wire === 2), shapeBytes: sh, path: { type, tensor, shape } };
}

/** A Dimension message: `{ value }` or `{ param }` (or neither: unknown). */
function readDim(d: Uint8Array): { value?: number; param?: string } {
  const out: { value?: number; param?: string } = {};
  for (const f of fields(d)) {
    if (f.no === 1 && f.wire === 0) out.value = readVarint(d, f.valueStart).value;
    if (f.no === 2 && f.wire === 2) out.param = new TextDecoder().decode(sub(d, f));
  }
  return out;
}

function isInitializerName(graph: Uint8Array, gf: readonly Field[], name: string): boolean {
  for (const f of gf) {
    if (f.no !== 5 || f.wire !== 2) continue;
    const t = sub(graph, f);
    const n = fields(t).find((x) => x.no === 8 && x.wire === 2);
    if (n && new TextDecoder().decode(sub(t, n)) === name) return true;
  }
  return false;
}

/** Whether an initializer has `data_location: EXTERNAL` (TensorProto field 14 = 1). */
function hasExternalData(graph: Uint8Array, gf: readonly Field[]): boolean {
  for (const f of gf) {
    if (f.no !== 5 || f.wire !== 2) continue;
    const t = sub(graph, f);
    const loc = fields(t).find((x) => x.no === 14 && x.wire === 0);
    if (loc && readVarint(t, loc.valueStart).value === 1) return true;
  }
  return false;
}

function valueInfoName(vi: Uint8Array): string {
  const n = fields(vi).find((f) => f.no === 1 && f.wire === 2);
  return n ? new TextDecoder().decode(sub(vi, n)) : '';
}

/**
 * Rewrites graph outputs declared with batch 1 (dim 0 = 1) to the first graph input's symbolic batch, when that
 * input's batch is symbolic.
 * @returns the edited model bytes and the names of the relaxed outputs, or null when nothing needs it.
 * @throws Error when the bytes are not a readable ONNX model.
 */
export function relaxFixedOutputBatch(model: Uint8Array): { model: Uint8Array; outputs: string[] } | null {
  const mf = fields(model);
  const graphField = mf.find((f) => f.no === 7 && f.wire === 2);
  if (!graphField) return null;
  const graph = sub(model, graphField);
  const gf = fields(graph);
  // NOTE: a model with external data must be loaded from its path (the data files are found next to it), so it
  // is left as is (the warning stays, the values are right either way).
  if (hasExternalData(graph, gf)) return null;
  // The first real input (older exporters also list initializers as inputs).
  const input = gf.filter((f) => f.no === 11 && f.wire === 2).map((f) => sub(graph, f)).find((vi) => !isInitializerName(graph, gf, valueInfoName(vi)));
  const inDims = input ? shapeDims(input) : null;
  if (!input || !inDims || !inDims.dims.length) return null;
  const inBatch = readDim(sub(inDims.shapeBytes, inDims.dims[0]));
  if (inBatch.value !== undefined && inBatch.value > 0) return null; // a fixed input batch: nothing to relax
  const batchName = inBatch.param || 'batch';
  const replace = new Map<number, Uint8Array>();
  const relaxed: string[] = [];
  for (const of of gf.filter((f) => f.no === 12 && f.wire === 2)) {
    const vi = sub(graph, of);
    const sd = shapeDims(vi);
    if (!sd || !sd.dims.length) continue;
    const d0 = readDim(sub(sd.shapeBytes, sd.dims[0]));
    if (d0.value !== 1) continue;
    // Rebuild Dimension → TensorShapeProto → Tensor → TypeProto → ValueInfoProto, innermost first.
    const { type, tensor, shape } = sd.path;
    const t = sub(vi, type);
    const tf = fields(t);
    const tt = sub(t, tensor);
    const ttf = fields(tt);
    const sh = sd.shapeBytes;
    const shf = fields(sh);
    const newDim = lenField(1, lenField(2, new TextEncoder().encode(batchName)));
    const newShape = rebuild(sh, shf, new Map([[sd.dims[0].start, newDim]]));
    const newTensor = rebuild(tt, ttf, new Map([[shape.start, lenField(2, newShape)]]));
    const newType = rebuild(t, tf, new Map([[tensor.start, lenField(1, newTensor)]]));
    const newVi = rebuild(vi, fields(vi), new Map([[type.start, lenField(2, newType)]]));
    replace.set(of.start, lenField(12, newVi));
    relaxed.push(valueInfoName(vi));
  }
  if (!relaxed.length) return null;
  const newGraph = rebuild(graph, gf, replace);
  return { model: rebuild(model, mf, new Map([[graphField.start, lenField(7, newGraph)]])), outputs: relaxed };
}
