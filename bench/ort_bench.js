#!/usr/bin/env node
// ort_bench.js — the ONNX Runtime side of bench/run: times one ONNX file in
// ONNX Runtime's CPU build (the npm package onnxruntime-node, installed into
// bench/node_modules by bench/setup) and prints JSON with the same keys as
// `gaze-cli bench --json`. A benchmark dependency only, never one of Gaze.
// SPDX-License-Identifier: GPL-3.0-or-later
//
// load: InferenceSession.create (parse, graph optimisation at level "all",
// weight pre-packing). forward: one session.run on the 1×3×224×224 input.
// The session runs sequentially with --threads intra-op threads (ORT counts
// the calling thread among them, as Gaze does) and one inter-op thread.
// Pinning is bench/run's job (taskset), the same as for the other contenders.
//
// Usage: ort_bench.js MODEL.onnx [--input X.npy] [--threads N] [--repeat N]
//                     [--warmup N] [--logits OUT.npy]
// Without --input the input is seeded standard-normal data (fixed seed).
'use strict';

const fs = require('fs');

function parseArgs(argv) {
  const args = { model: null, input: null, threads: 2, repeat: 10, warmup: 2, logits: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(a + ' needs a value');
      return argv[++i];
    };
    if (a === '--input') args.input = value();
    else if (a === '--threads') args.threads = parseInt(value(), 10);
    else if (a === '--repeat') args.repeat = parseInt(value(), 10);
    else if (a === '--warmup') args.warmup = parseInt(value(), 10);
    else if (a === '--logits') args.logits = value();
    else if (a.startsWith('--')) throw new Error('unknown option ' + a);
    else if (args.model === null) args.model = a;
    else throw new Error('one model only');
  }
  if (args.model === null) throw new Error('usage: ort_bench.js MODEL.onnx [options]');
  if (!(args.threads >= 1 && args.repeat >= 1 && args.warmup >= 0))
    throw new Error('--threads and --repeat must be ≥ 1, --warmup ≥ 0');
  return args;
}

// A little-endian float32 .npy in C order (what tests/reference writes and
// `gaze-cli predict --logits` reads back): { dims, data }.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(path + ': not a .npy file');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(path + ': only little-endian float32 in C order is read');
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1];
  const dims = shape.split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + headerLen, start + headerLen + 4 * count);
  // Copy: the body need not be 4-byte aligned inside the file's buffer.
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(body);
  return { dims, data };
}

function writeNpy(path, dims, data) {
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
      dims.join(', ') + (dims.length === 1 ? ',' : '') + '), }';
  // Magic (6) + version (2) + length (2) + header + '\n', padded to 64 bytes.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

// Seeded standard-normal data: mulberry32 uniforms through Box–Muller.
function seededInput(dims, seed) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const count = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const phi = 2 * Math.PI * uniform();
    data[i] = r * Math.cos(phi);
    if (i + 1 < count) data[i + 1] = r * Math.sin(phi);
  }
  return { dims, data };
}

function stats(samples, name) {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { [name + '_ms']: median, [name + '_min_ms']: sorted[0], [name + '_max_ms']: sorted[n - 1] };
}

// Peak RSS of this process (VmHWM), as torch_bench.py reports it.
function vmHwmMib() {
  const m = /VmHWM:\s*(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const version = require('onnxruntime-node/package.json').version;
  const options = {
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };

  const input = args.input ? readNpy(args.input) : seededInput([1, 3, 224, 224], 20261206);
  const load = [];
  let session = null;
  for (let i = 0; i < args.warmup + args.repeat; i++) {
    if (session !== null) await session.release();
    const t0 = process.hrtime.bigint();
    session = await ort.InferenceSession.create(args.model, options);
    load.push(msSince(t0));
  }

  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, input.dims) };
  const outputName = session.outputNames[0];
  const forward = [];
  let output = null;
  for (let i = 0; i < args.warmup + args.repeat; i++) {
    const t0 = process.hrtime.bigint();
    const result = await session.run(feeds);
    forward.push(msSince(t0));
    output = result[outputName];
  }
  if (args.logits) writeNpy(args.logits, output.dims, output.data);
  await session.release();

  const w = args.warmup;
  const out = { model: args.model, engine: 'onnxruntime-node ' + version, threads: args.threads,
                repeat: args.repeat, ...stats(load.slice(w), 'load'),
                ...stats(forward.slice(w), 'forward'), peak_rss_mib: vmHwmMib() };
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error('ort_bench.js: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
