import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(16 * 256);
let poolAt = pool.length;
let lastMs = 0;
let seq = 0;

/**
 * A record id: a UUID version 7 (RFC 9562: 48-bit Unix milliseconds, then random bits), lowercase and
 * hyphenated as DESIGN §2.2 requires. Time-ordered ids keep the primary-key index append-mostly, which
 * is what makes bulk inserts cheap on both databases; random v4 ids scatter every insert over the index.
 * Within one millisecond a 12-bit counter keeps ids of one process in creation order.
 */
export function newRecordId(now = Date.now()): string {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const b = pool.subarray(poolAt, poolAt + 16);
  poolAt += 16;
  if (now <= lastMs) {
    seq = (seq + 1) & 0xfff;
    if (seq === 0) lastMs++; // 4,096 ids in one millisecond: borrow the next one
    now = lastMs;
  } else {
    lastMs = now;
    seq = b.readUInt16BE(6) & 0x7ff; // random start, room to count up
  }
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (seq >> 8);
  b[7] = seq & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const saltPool = Buffer.alloc(32 * 128);
let saltAt = saltPool.length;

/**
 * A fresh commitment salt (DESIGN §2.2: 32 random bytes, 0x + 64 lowercase hex) from the CSPRNG. Drawn 4 KiB at a
 * time: one `randomBytes` call per request cost ~5 µs (about 3 % of a single submit); every salt still gets its
 * own 32 bytes, never reused.
 */
export function newSalt(): string {
  if (saltAt === saltPool.length) {
    randomFillSync(saltPool);
    saltAt = 0;
  }
  const hex = saltPool.toString('hex', saltAt, saltAt + 32);
  saltAt += 32;
  return '0x' + hex;
}
