import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventHash } from './proof.js';
import { auditEventsJson, type AuditEntry } from './writer.js';

const clock = { now: () => new Date('2032-01-01T00:00:00.123Z') };

/** What PostgreSQL computes in AUDIT_INSERT once it has drawn the id. */
const hashAround = (event: { prefix: string; suffix: string }, id: string) => hash('sha256', event.prefix + id + event.suffix, 'hex');

describe('auditEventsJson', () => {
  const tricky: AuditEntry[] = [
    { actor: { id: 'prn_a', kind: 'person' }, action: 'request.created', requestId: 'req_1', profileId: 'prf_1', sourceIp: '10.0.0.1', details: {} },
    // Details that hold the very text the id is found by, nested and as strings.
    {
      actor: { id: 'system', kind: 'system' },
      action: 'request.refused',
      details: { id: '', occurredAt: 'x', nested: { action: 'a', id: '', occurredAt: '' }, text: '"id":"","occurredAt":"', list: [{ id: '' }] },
    },
    { actor: { id: 'prn_"id":""', kind: 'service' }, action: '"id":""', requestId: '"id":""', profileId: null, sourceIp: null, details: { é: 'ünïcödé 🎉', n: 1.5, z: null } },
  ];

  it('splits each event where its id goes, so prefix ‖ id ‖ suffix hashes as SPEC §11 says', () => {
    const events = JSON.parse(auditEventsJson(tricky, clock)) as { prefix: string; suffix: string }[];
    expect(events).toHaveLength(tricky.length);
    tricky.forEach((entry, i) => {
      for (const id of ['1', '987654321012']) {
        const fields = {
          id,
          occurredAt: '2032-01-01T00:00:00.123Z',
          actor: entry.actor,
          action: entry.action,
          requestId: entry.requestId ?? null,
          profileId: entry.profileId ?? null,
          sourceIp: entry.sourceIp ?? null,
          details: entry.details ?? {},
        };
        expect(hashAround(events[i]!, id)).toBe(eventHash(fields));
      }
    });
  });
});
