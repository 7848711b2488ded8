// run_ort.js — the onnxruntime oracle for the runtime's parity tests (tests/unit/test_nn_parity.c).
//
// usage: node run_ort.js MODEL.onnx INPUT.f32 D0,D1,D2,D3 OUTDIR [NAME,NAME...]
// Reads the raw float32 input (NCHW, the given shape), runs the model with onnxruntime-node on one
// thread, and writes each output as raw float32 to OUTDIR/out<i>.f32; prints one line per output:
// "NAME D0,D1,...". The model is edited in memory first (a few protobuf fields, no onnx package):
// the graph input's dims become symbolic so that any input size is accepted, value_info is
// dropped (its shapes hold for the exported size only), and when NAMEs are given they replace the
// graph outputs, so that intermediate tensors such as fr_detect's "461" can be fetched (nodes
// that the new outputs do not need are removed).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function readVarint(buf, pos) {
  let v = 0n, shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    v |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [v, pos];
    shift += 7n;
  }
}

function varint(v) {
  v = BigInt(v);
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}

// message → [{num, wire, raw}] where raw is the encoded field (key included) or, for bytes, data
function decode(buf) {
  const fields = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    let key;
    [key, pos] = readVarint(buf, pos);
    const num = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) [, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const data = buf.subarray(pos, pos + Number(len));
      pos += Number(len);
      fields.push({num, wire, data});
      continue;
    } else throw new Error('bad wire type');
    fields.push({num, wire, raw: buf.subarray(start, pos)});
  }
  return fields;
}

function encode(fields) {
  return Buffer.concat(fields.map(f => f.wire === 2
    ? Buffer.concat([varint((f.num << 3) | 2), varint(f.data.length), f.data])
    : f.raw));
}

const bytesField = (num, data) => ({num, wire: 2, data: Buffer.from(data)});
const intField = (num, v) => ({num, wire: 0, raw: Buffer.concat([varint(num << 3), varint(v)])});

function valueInfo(name) { // ValueInfoProto{name, type{tensor_type{elem_type: FLOAT}}}
  const tensorType = encode([intField(1, 1)]);
  const type = encode([bytesField(1, tensorType)]);
  return encode([bytesField(1, name), bytesField(2, type)]);
}

function symbolicInput(vi) { // every dim of the input becomes dim_param "dI"
  return encode(decode(vi).map(f => {
    if (f.num !== 2 || f.wire !== 2) return f;
    return bytesField(2, encode(decode(f.data).map(t => {
      if (t.num !== 1 || t.wire !== 2) return t;
      return bytesField(1, encode(decode(t.data).map(s => {
        if (s.num !== 2 || s.wire !== 2) return s;
        let i = 0;
        return bytesField(2, encode(decode(s.data).map(d => d.num === 1 && d.wire === 2
          ? bytesField(1, encode([bytesField(2, 'd' + i++)])) : d)));
      })));
    })));
  }));
}

function editModel(buf, outputs) {
  return encode(decode(buf).map(f => {
    if (f.num !== 7 || f.wire !== 2) return f;
    const graph = decode(f.data);
    const inits = new Set(graph.filter(g => g.num === 5 && g.wire === 2).map(g =>
      decode(g.data).filter(t => t.num === 8).map(t => t.data.toString())[0]));
    let fields = graph.filter(g => g.num !== 13).map(g => {
      if (g.num !== 11 || g.wire !== 2) return g;
      const name = decode(g.data).filter(t => t.num === 1).map(t => t.data.toString())[0];
      return inits.has(name) ? g : bytesField(11, symbolicInput(g.data));
    });
    if (outputs) {
      // keep only the nodes the new outputs need (onnxruntime would still run the rest)
      const strs = (msg, num) => decode(msg).filter(t => t.num === num).map(t => t.data.toString());
      const nodes = fields.filter(g => g.num === 1 && g.wire === 2);
      const needed = new Set(outputs), keep = new Set();
      for (let changed = true; changed;) {
        changed = false;
        for (const n of nodes) {
          if (keep.has(n) || !strs(n.data, 2).some(o => needed.has(o))) continue;
          keep.add(n);
          strs(n.data, 1).forEach(i => needed.add(i));
          changed = true;
        }
      }
      fields = fields.filter(g => g.num !== 12 && !(g.num === 1 && !keep.has(g)));
      for (const name of outputs) fields.push(bytesField(12, valueInfo(name)));
    }
    return bytesField(7, encode(fields));
  }));
}

async function main() {
  const [model, input, shapeArg, outDir, namesArg] = process.argv.slice(2);
  if (!outDir) {
    console.error('usage: node run_ort.js MODEL INPUT.f32 D0,D1,.. OUTDIR [NAME,..]');
    process.exit(2);
  }
  const shape = shapeArg.split(',').map(Number);
  const names = namesArg ? namesArg.split(',') : null;
  const bytes = editModel(fs.readFileSync(model), names);
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3});
  const raw = fs.readFileSync(input);
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, shape)};
  const results = await session.run(feeds);
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    fs.writeFileSync(path.join(outDir, `out${i}.f32`), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    console.log(`${name} ${t.dims.join(',')}`);
  });
}

main().catch(e => { console.error(`run_ort: ${e.message}`); process.exit(1); });
