// One Node.js program, many behaviours: `node hostile.js MODE [ARGS]`.  Used by test_go_javascript.py.
'use strict';
const fs = require('fs');

const [mode, ...args] = process.argv.slice(2);

function cpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function depth(n) {
  return n === 0 ? 0 : 1 + depth(n - 1);
}

const modes = {
  hello: () => console.log('hello'),
  execSync: () => console.log(require('child_process').execSync(`echo pwned > ${args[0]}`).toString()),
  spawn: () => {
    const p = require('child_process').spawn('/bin/sh', ['-c', `echo pwned > ${args[0]}`]);
    p.on('exit', (c) => console.log('spawned, exit', c));
    p.on('error', (e) => console.log('spawn error', e.code));
  },
  fork: () => require('child_process').fork(__filename, ['hello']),
  worker: () => {
    const { Worker } = require('worker_threads');
    const w = new Worker(`console.log('in worker ' + (21 * 2))`, { eval: true });
    w.on('exit', (c) => console.log('worker exit', c));
  },
  workerExec: () => {
    const { Worker } = require('worker_threads');
    new Worker(`require('child_process').execSync('echo pwned > ${args[0]}')`, { eval: true });
  },
  workerBomb: () => {
    const { Worker } = require('worker_threads');
    const all = [];
    for (;;) all.push(new Worker('setInterval(() => {}, 1000)', { eval: true }));
  },
  workerSpin: () => {
    const { Worker } = require('worker_threads');
    for (let i = 0; i < 4; i++) new Worker('for (;;) {}', { eval: true });
  },
  connect: () => {
    require('net').connect(Number(args[0]), '127.0.0.1', () => console.log('connected'))
      .on('error', (e) => console.log('error', e.code));
  },
  unix: () => require('net').connect('/tmp/x.sock').on('error', (e) => console.log('error', e.code)),
  http: () => require('http').get(`http://127.0.0.1:${args[0]}/`, () => console.log('got'))
    .on('error', (e) => console.log('error', e.code)),
  fetch: () => fetch(`http://127.0.0.1:${args[0]}/`).then(() => console.log('fetched'), (e) => console.log('error', e)),
  udp: () => require('dgram').createSocket('udp4').send('x', Number(args[0]), '127.0.0.1'),
  environ: () => {
    for (const [k, v] of Object.entries(process.env)) console.log(`ENV ${k}=${v}`);
    for (const p of ['/proc/1/environ', '/proc/self/environ', args[0]]) {
      try { console.log(`FILE ${p} ${JSON.stringify(fs.readFileSync(p, 'latin1'))}`); } catch (e) { console.log(`FILE ${p} ${e.code}`); }
    }
  },
  write: () => {
    for (const p of args) {
      try { fs.writeFileSync(p, 'escaped\n'); console.log(`${p}: created`); } catch (e) { console.log(`${p}: ${e.code}`); }
    }
  },
  spin: () => { let x = 0; for (;;) x++; },
  busy: () => { // until the process has used N ms of CPU (start-up included, as the sandbox counts it)
    let x = 0;
    while (cpuMs() < Number(args[0])) for (let i = 0; i < 100000; i++) x += i;
    console.log('busy', x > 0);
  },
  touch: () => { // N MiB outside the V8 heap (a Buffer), every page written
    const b = Buffer.alloc(Number(args[0]) << 20, 1);
    console.log('touched', b.length >> 20);
  },
  heapbomb: () => { const keep = []; for (;;) keep.push(new Array(1 << 20).fill(1.5)); },
  objects: () => { const keep = []; for (;;) { const a = new Array(1 << 16); for (let i = 0; i < a.length; i++) a[i] = { i }; keep.push(a); } },
  bufferbomb: () => { const keep = []; for (;;) keep.push(Buffer.alloc(1 << 24, 1)); },
  huge: () => console.log(new ArrayBuffer(2 ** 40).byteLength),
  // JavaScript's "static array": one big array of N MiB made at once, every element written;
  // a typed array lives outside the V8 heap, a plain one (of doubles) inside it
  typedarray: () => {
    const a = new Float64Array((Number(args[0]) << 20) / 8).fill(1.5);
    console.log('typed', a.length);
  },
  plainarray: () => {
    const a = new Array((Number(args[0]) << 20) / 8).fill(1.5);
    console.log('plain', a.length);
  },
  recurse: () => console.log(depth(Number(args[0] || 1000000))),
  read: () => {
    const data = fs.readFileSync(0, 'latin1');
    let sum = 0; let n = -1; let cur = 0; let inNum = false;
    for (let i = 0; i < data.length; i++) {
      const c = data.charCodeAt(i);
      if (c >= 48 && c <= 57) { cur = cur * 10 + (c - 48); inNum = true; } else if (inNum) { if (n < 0) n = cur; else sum += cur; cur = 0; inNum = false; }
    }
    if (inNum) sum += cur;
    console.log(sum);
  },
  readline: () => {
    const rl = require('readline').createInterface({ input: process.stdin });
    let lines = 0;
    rl.on('line', () => lines++);
    rl.on('close', () => console.log('lines', lines));
  },
  flood: () => { const s = 'flood '.repeat(10) + '\n'; for (;;) process.stdout.write(s); },
  throw: () => { throw new Error('boom'); },
  rejection: () => { Promise.reject(new Error('rejected')); },
  exit3: () => process.exit(3),
  iouring: () => console.log('UV_USE_IO_URING', process.env.UV_USE_IO_URING),
};

if (!modes[mode]) {
  console.log('unknown mode', mode);
  process.exit(64);
}
modes[mode]();
