/**
 * @file A minimal hand-written ONNX protobuf encoder for pipeline tests (no Python, no onnx package): enough of
 * ModelProto / GraphProto / NodeProto / ValueInfoProto to build one-node models such as `y = image * w`.
 * Field numbers follow onnx.proto (ModelProto: ir_version 1, graph 7, opset_import 8; GraphProto: node 1, name 2,
 * input 11, output 12; NodeProto: input 1, output 2, op_type 4; ValueInfoProto: name 1, type 2; TypeProto:
 * tensor_type 1; Tensor: elem_type 1, shape 2; TensorShapeProto: dim 1; Dimension: dim_value 1, dim_param 2).
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}
const tag = (field: number, wire: number) => varint((field << 3) | wire);
const vint = (field: number, n: number) => [...tag(field, 0), ...varint(n)];
const bytes = (field: number, b: number[] | Uint8Array) => [...tag(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string) => bytes(field, new TextEncoder().encode(s));

/** A tensor value info: dims are numbers or symbolic names. elemType 1 = float, 11 = double. */
export function valueInfo(name: string, dims: (number | string)[], elemType = 1): number[] {
  const shape = dims.flatMap((d) => bytes(1, typeof d === 'number' ? vint(1, d) : str(2, d)));
  const tensor = [...vint(1, elemType), ...bytes(2, shape)];
  return [...str(1, name), ...bytes(2, bytes(1, tensor))];
}

/** A node without attributes. */
export function node(opType: string, inputs: string[], outputs: string[]): number[] {
  return [...inputs.flatMap((i) => str(1, i)), ...outputs.flatMap((o) => str(2, o)), ...str(4, opType)];
}

/** Encodes a model (IR 8, opset 17). */
export function model(nodes: number[][], inputs: number[][], outputs: number[][]): Uint8Array {
  const graph = [...nodes.flatMap((n) => bytes(1, n)), ...str(2, 'g'), ...inputs.flatMap((i) => bytes(11, i)), ...outputs.flatMap((o) => bytes(12, o))];
  const opset = [...str(1, ''), ...vint(2, 17)];
  return Uint8Array.from([...vint(1, 8), ...bytes(7, graph), ...bytes(8, opset)]);
}

/** `output = image * w`, image [1, 3, S, S] float, w a float scalar. */
export function mulModel(size: number): Uint8Array {
  return model([node('Mul', ['image', 'w'], ['output'])], [valueInfo('image', [1, 3, size, size]), valueInfo('w', [])], [valueInfo('output', [1, 3, size, size])]);
}
