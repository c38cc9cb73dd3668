// What a process says to PostgreSQL and Redis, counted through TCP proxies in front of them, and
// the CPU time it and its PostgreSQL backends use (Linux /proc): measures that do not depend on how
// loaded the machine is, for bench/count-create.ts and bench/count-activate.ts.
import { readFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { freePort } from './processes.js';
import { ADMIN_URL, sql } from './services.js';

/** CPU time (user + system) a process has used so far, in ms. */
export const cpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
};

/** CPU of the PostgreSQL backends serving `database` (its pools' connections), by backend pid. */
export async function backendsCpu(database: string): Promise<Map<number, number>> {
  const { rows } = await sql(ADMIN_URL, `select pid from pg_stat_activity where datname = '${database}'`);
  const cpu = new Map<number, number>();
  for (const { pid } of rows as { pid: number }[]) {
    try {
      cpu.set(pid, cpuMs(pid));
    } catch {
      // gone
    }
  }
  return cpu;
}

export const usedSince = (before: Map<number, number>, after: Map<number, number>): number =>
  [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);

interface ParseState {
  buf: Buffer;
  started: boolean;
}
const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);

/** Statements and round trips to PostgreSQL, commands and writes to Redis, while `counting` is on. */
export class Counts {
  counting = false;
  readonly pg = { roundTrips: 0, statements: 0, byText: new Map<string, number>() };
  readonly redis = { writes: 0, commands: 0, byName: new Map<string, number>() };

  reset(): void {
    this.pg.roundTrips = this.pg.statements = 0;
    this.pg.byText.clear();
    this.redis.writes = this.redis.commands = 0;
    this.redis.byName.clear();
  }

  /** A proxy in front of PostgreSQL at 127.0.0.1:`port`; returns the proxy's port. */
  proxyPostgres(port: number): Promise<number> {
    return proxy(port, (state, chunk) => this.pgParse(state, chunk));
  }

  /** A proxy in front of Redis at 127.0.0.1:`port`; returns the proxy's port. */
  proxyRedis(port: number): Promise<number> {
    return proxy(port, (state, chunk) => this.redisParse(state, chunk));
  }

  /** The counts divided by `n` (per operation), each statement and command listed. */
  print(n: number, label = ''): void {
    const per = (x: number) => (x / n).toFixed(2);
    const tail = label === '' ? '' : ` ${label}`;
    console.log(`  PostgreSQL: ${per(this.pg.statements)} statements, ${per(this.pg.roundTrips)} round trips${tail}`);
    for (const [text, count] of [...this.pg.byText].sort((a, b) => b[1] - a[1])) console.log(`    ${per(count).padStart(6)}  ${text}`);
    console.log(`  Redis: ${per(this.redis.commands)} commands in ${per(this.redis.writes)} writes${tail}`);
    for (const [name, count] of [...this.redis.byName].sort((a, b) => b[1] - a[1])) console.log(`    ${per(count).padStart(6)}  ${name}`);
  }

  /** PostgreSQL frontend messages: a startup packet (or SSLRequest) first, then type byte + length. */
  private pgParse(state: ParseState, chunk: Buffer) {
    state.buf = Buffer.concat([state.buf, chunk]);
    for (;;) {
      if (!state.started) {
        if (state.buf.length < 8) return;
        const len = state.buf.readInt32BE(0);
        const code = state.buf.readInt32BE(4);
        if (state.buf.length < len) return;
        state.buf = state.buf.subarray(len);
        if (code !== 80877103) state.started = true; // not SSLRequest
        continue;
      }
      if (state.buf.length < 5) return;
      const type = String.fromCharCode(state.buf[0]!);
      const len = state.buf.readInt32BE(1);
      if (state.buf.length < 1 + len) return;
      const body = state.buf.subarray(5, 1 + len);
      state.buf = state.buf.subarray(1 + len);
      if (!this.counting) continue;
      if (type === 'Q') {
        this.pg.roundTrips++;
        const text = body.subarray(0, body.indexOf(0)).toString();
        for (const s of text.split(';').filter((x) => x.trim() !== '')) {
          this.pg.statements++;
          bump(this.pg.byText, s.trim().slice(0, 110));
        }
      } else if (type === 'P') {
        const nameEnd = body.indexOf(0);
        const text = body.subarray(nameEnd + 1, body.indexOf(0, nameEnd + 1)).toString();
        this.pg.statements++;
        bump(this.pg.byText, text.replace(/\s+/g, ' ').slice(0, 110));
      } else if (type === 'S') this.pg.roundTrips++;
    }
  }

  /** RESP requests: arrays of bulk strings. A client write is one round trip (a pipeline is one write). */
  private redisParse(state: ParseState, chunk: Buffer) {
    if (this.counting) this.redis.writes++;
    state.buf = Buffer.concat([state.buf, chunk]);
    for (;;) {
      const s = state.buf;
      if (s.length === 0 || s[0] !== 0x2a) return;
      let pos = s.indexOf('\r\n');
      if (pos < 0) return;
      const n = Number(s.subarray(1, pos).toString());
      pos += 2;
      const args: string[] = [];
      for (let i = 0; i < n; i++) {
        const e = s.indexOf('\r\n', pos);
        if (e < 0) return;
        const len = Number(s.subarray(pos + 1, e).toString());
        if (s.length < e + 2 + len + 2) return;
        if (i < 2) args.push(s.subarray(e + 2, e + 2 + len).toString());
        pos = e + 2 + len + 2;
      }
      state.buf = s.subarray(pos);
      if (!this.counting) continue;
      this.redis.commands++;
      const name = args[0]!.toUpperCase();
      bump(this.redis.byName, name === 'EVALSHA' || name === 'EVAL' ? `${name} ${args[1]!.slice(0, 12)}` : name);
    }
  }
}

/** A TCP proxy to 127.0.0.1:targetPort that shows every byte the client sends to `onClientData`. */
async function proxy(targetPort: number, onClientData: (state: ParseState, chunk: Buffer) => void): Promise<number> {
  const port = await freePort();
  const server = createServer((client: Socket) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const state: ParseState = { buf: Buffer.alloc(0), started: false };
    client.on('data', (chunk) => {
      onClientData(state, chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return port;
}
