// ort_run.js — onnxruntime-node's side of bench/nn_vs_ort.sh: the same model, input shape,
// thread count and run count as bench/nn_run.c; prints "times_ms t1 t2 ..." and the peak RSS.
//
//   node ort_run.js MODEL.onnx D0,D1,D2,D3 RUNS THREADS
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', 'tests', 'ort', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [model, dims, runsArg, threadsArg] = process.argv.slice(2);
  const shape = dims.split(',').map(Number);
  const runs = Number(runsArg), threads = Number(threadsArg);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = ((seed >>> 8) & 0xffff) / 32768 - 1;
  }
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, shape)};
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log('times_ms ' + times.map((t) => t.toFixed(4)).join(' '));
  console.log('rss_run_kb=' + Math.round(process.resourceUsage().maxRSS));
}
main().catch((e) => { console.error('ort_run: ' + e.message); process.exit(2); });
