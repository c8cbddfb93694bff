// A stand-in for `python -m refbench_model.worker` speaking the framed protocol (frames.ts), for tests of the
// torch engine's failure handling without PyTorch. Behaviour from FAKE_MODE:
//   protocol99 | oldtorch   a hello the client must refuse
//   hang-once              answers load; the FIRST process never answers its first restore (later ones answer)
//   crash-once             answers load; the FIRST process exits with code 9 on its first restore
//   nan                    answers restores with a NaN in the decoder output
// FAKE_STATE names a file that marks "a first process already ran".
import { existsSync, writeFileSync } from 'node:fs';

const mode = process.env.FAKE_MODE ?? '';
const state = process.env.FAKE_STATE ?? '';
const first = state && !existsSync(state);
if (state) writeFileSync(state, String(process.pid));

function frame(header, blobs = []) {
  const metas = blobs.map(([name, dtype, shape]) => ({ name, dtype, shape }));
  const json = Buffer.from(JSON.stringify({ ...header, blobs: metas }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  process.stdout.write(Buffer.concat([len, json, ...blobs.map(([, , , data]) => Buffer.from(data.buffer))]));
}

const hello = { type: 'hello', protocol: 1, python: '3.11.0', pid: process.pid, torch: '2.13.0', numpy: '2.0.0', cuda: { available: false, version: null, devices: [] } };
if (mode === 'protocol99') hello.protocol = 99;
if (mode === 'oldtorch') hello.torch = '2.0.1';
frame(hello);

let buf = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  for (;;) {
    if (buf.length < 4) return;
    const n = buf.readUInt32LE(0);
    if (buf.length < 4 + n) return;
    const h = JSON.parse(buf.subarray(4, 4 + n).toString());
    const size = (h.blobs ?? []).reduce((a, b) => a + b.shape.reduce((x, y) => x * y, b.dtype === 'uint8' ? 1 : 4), 0);
    if (buf.length < 4 + n + size) return;
    buf = buf.subarray(4 + n + size);
    handle(h);
  }
});
process.stdin.on('end', () => process.exit(0));

function handle(h) {
  if (h.type === 'load') {
    frame({ type: 'loaded', config: 'tiny', design: 'cachekv', device: 'cpu', deviceName: 'fake', torch: '2.13.0', threads: 1,
      weights: { kind: 'random-init', seed: 0, files: [] }, switches: {}, requested: {}, ignored: {}, timesteps: [1], loadMs: 1 });
  } else if (h.type === 'restore') {
    if (first && mode === 'hang-once') return; // never answers
    if (first && mode === 'crash-once') {
      process.stderr.write('fake worker: simulated crash\n');
      process.exit(9);
    }
    frame({ type: 'step', i: 1, n: 1 });
    const decoded = new Float32Array(3 * 512 * 512);
    if (mode === 'nan') decoded[5] = NaN;
    frame({ type: 'result', timings: { preprocessMs: 0, encodeMs: 1, refPassMs: 0, stepsMs: [2], decodeMs: 3, totalMs: 6 }, info: { design: 'cachekv', batch: 2 } },
      [['decoded', 'float32', [1, 3, 512, 512], decoded], ['latent', 'float32', [1, 8, 64, 64], new Float32Array(8 * 64 * 64)]]);
  } else if (h.type === 'shutdown') {
    frame({ type: 'bye' });
    process.exit(0);
  }
}
