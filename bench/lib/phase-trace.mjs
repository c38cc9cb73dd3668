// Loaded into a Brevet process with `node --import ./bench/lib/phase-trace.mjs` (NODE_OPTIONS), by
// bench/trace-latency.ts: for each HTTP request the process serves, one NDJSON line in
// $PHASE_TRACE_FILE with its wall time, the CPU the process used meanwhile (process.cpuUsage), and
// every PostgreSQL statement, pool checkout, Redis command and outgoing HTTP call (STS) it awaited,
// each with its start and duration. Events are attributed by time, so it is meant for one client
// at a time. SIGUSR2 starts a CPU profile; the next SIGUSR2 writes it to $PHASE_TRACE_FILE.cpuprofile.
import dc from 'node:diagnostics_channel';
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(`${process.cwd()}/package.json`);
const file = process.env.PHASE_TRACE_FILE;
const now = () => performance.now();
let current;
const record = (kind, label, start) => current?.events.push([kind, label, +(start - current.start).toFixed(3), +(now() - start).toFixed(3)]);

const pg = require('pg');
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, callback) {
  const text = typeof config === 'string' ? config : (config?.text ?? config?.name ?? '?');
  const label = String(text).replace(/\s+/g, ' ').slice(0, 90);
  const start = now();
  const done = (cb) => (...args) => {
    record('pg', label, start);
    cb(...args);
  };
  if (typeof values === 'function') values = done(values);
  else if (typeof callback === 'function') callback = done(callback);
  else if (typeof config?.callback === 'function') config.callback = done(config.callback);
  const result = query.call(this, config, values, callback);
  if (typeof result?.then === 'function') result.then(() => record('pg', label, start), () => record('pg', label, start));
  return result;
};
const connect = pg.Pool.prototype.connect;
pg.Pool.prototype.connect = function (callback) {
  const start = now();
  if (callback) {
    return connect.call(this, (...args) => {
      record('pool', 'connect', start);
      callback(...args);
    });
  }
  return connect.call(this).then((client) => {
    record('pool', 'connect', start);
    return client;
  });
};

const { Redis } = require('ioredis');
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command, stream) {
  const start = now();
  command.promise?.then(() => record('redis', command.name, start), () => record('redis', command.name, start));
  return sendCommand.call(this, command, stream);
};

const outgoing = new WeakMap();
dc.subscribe('http.client.request.start', ({ request }) => outgoing.set(request, now()));
dc.subscribe('http.client.response.finish', ({ request }) => {
  const start = outgoing.get(request);
  if (start !== undefined) record('http-out', `${request.method} ${request.host}${request.path}`, start);
});
dc.subscribe('http.server.request.start', ({ request }) => {
  current = { url: `${request.method} ${request.url}`, start: now(), cpu: process.cpuUsage(), events: [] };
});
dc.subscribe('http.server.response.finish', () => {
  if (current === undefined) return;
  const cpu = process.cpuUsage(current.cpu);
  const line = { url: current.url, totalMs: +(now() - current.start).toFixed(3), cpuMs: (cpu.user + cpu.system) / 1000, events: current.events };
  current = undefined;
  if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
});

let session;
process.on('SIGUSR2', () => {
  if (session === undefined) {
    session = new Session();
    session.connect();
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 250 }, () => session.post('Profiler.start')));
    return;
  }
  session.post('Profiler.stop', (_error, result) => {
    writeFileSync(`${file}.cpuprofile`, JSON.stringify(result.profile));
    session.disconnect();
    session = undefined;
  });
});
