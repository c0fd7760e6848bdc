// The `cosignature` record type: payload schema and lineage rule (exactly one parent, of any type but cosignature).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLineage } from '../../src/domain/lineage';
import { RECORD_TYPES, isRecordType, validatePayload } from '../../src/domain/record-types';

describe('cosignature record type', () => {
  it('is a record type with a small payload', () => {
    assert.ok(isRecordType('cosignature'));
    assert.ok(validatePayload('cosignature', {}).ok);
    assert.ok(validatePayload('cosignature', { statement: 'Registered under no. 42', role: 'registrar' }).ok);
    assert.equal(validatePayload('cosignature', { amount: '1' }).ok, false);
    assert.equal(validatePayload('cosignature', { role: '' }).ok, false);
    assert.equal(validatePayload('cosignature', { statement: 'x'.repeat(4097) }).ok, false);
  });

  it('names exactly one record, of any type but another cosignature', () => {
    for (const t of RECORD_TYPES.filter((x) => x !== 'cosignature'))
      assert.deepEqual(checkLineage('cosignature', [{ type: t }]), { ok: true }, t);
    const none = checkLineage('cosignature', []);
    assert.equal(none.ok, false);
    assert.equal(!none.ok && none.code, 'LINEAGE_PARENT_COUNT');
    const two = checkLineage('cosignature', [{ type: 'security.issuance' }, { type: 'document' }]);
    assert.equal(!two.ok && two.code, 'LINEAGE_PARENT_COUNT');
    const chain = checkLineage('cosignature', [{ type: 'cosignature' }]);
    assert.equal(!chain.ok && chain.code, 'LINEAGE_PARENT_TYPE');
  });

  it('may itself be named by a document, not by a typed record', () => {
    assert.deepEqual(checkLineage('document', [{ type: 'cosignature' }]), { ok: true });
    assert.equal(checkLineage('security.allocation', [{ type: 'cosignature' }]).ok, false);
  });
});
