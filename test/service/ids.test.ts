import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newRecordId, newSalt } from '../../src/service/ids';
import { isRecordId } from '../../src/domain/hex';

describe('newRecordId', () => {
  it('is a lowercase hyphenated RFC 9562 version-7 UUID carrying the time', () => {
    const t = Date.now();
    const id = newRecordId();
    assert.ok(isRecordId(id), id);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(Math.abs(ms - t) < 1000, `timestamp ${ms} vs ${t}`);
  });

  it('is unique and sorted in creation order, also many per millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newRecordId());
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
  });
});

describe('newSalt', () => {
  it('is 0x + 64 lowercase hex, and never repeats across pool refills', () => {
    const salts = Array.from({ length: 1000 }, () => newSalt()); // ~8 refills of the 4 KiB pool
    for (const s of salts) assert.match(s, /^0x[0-9a-f]{64}$/);
    assert.equal(new Set(salts).size, salts.length);
    // No 32-byte salt shares a half with another one (a pool read twice would repeat whole salts or halves).
    const halves = salts.flatMap((s) => [s.slice(2, 34), s.slice(34)]);
    assert.equal(new Set(halves).size, halves.length);
  });
});
