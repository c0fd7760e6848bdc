// Ledger Notary auditor page. Plain browser script (CSP: script-src 'self', no eval, no inline handlers).
// The page only: DOM, events, fetch. Every check is the service's own verifier (src/domain + src/verifier),
// bundled as /notary-verifier.js (window.NotaryVerifier). The document (payload) is checked here and never
// sent anywhere; only the receipt goes to POST /v1/verify, which reads the chain.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  // ---------- small DOM helpers (textContent only: nothing from input is parsed as HTML) ----------
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of [].concat(children || [])) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'text') node.textContent = v;
      else node.setAttribute(k, String(v));
    }
    for (const c of [].concat(children || [])) if (c) node.appendChild(c);
    return node;
  }

  function message(kind, text) {
    return el('div', { class: `msg ${kind}`, role: kind === 'error' ? 'alert' : null }, [text]);
  }

  async function fetchJson(url, init) {
    const res = await fetch(url, init);
    const text = await res.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text;
    }
    return { status: res.status, ok: res.ok, body };
  }

  function problemText(r) {
    const b = r.body;
    if (b && typeof b === 'object') {
      const parts = [b.title || b.error, b.detail || b.message].filter((x) => typeof x === 'string' && x);
      const code = typeof b.code === 'string' ? ` [${b.code}]` : '';
      if (parts.length) return `HTTP ${r.status}: ${parts.join(' — ')}${code}`;
    }
    return `HTTP ${r.status}`;
  }

  const errText = (e) => (e && e.message ? e.message : String(e));

  const isObj = (x) => typeof x === 'object' && x !== null && !Array.isArray(x);

  // ---------- checks ----------
  const LABELS = {
    schema: 'Receipt format',
    digest: 'Document digest',
    commitment: 'Commitment',
    signatures: 'Signed by the organisation',
    merkle: 'Merkle proof',
    anchor: 'Anchored on chain',
    organisation: 'Organisation',
    submitter: 'Submitter',
    timestamp: 'Timestamp',
    direct: 'Chain, asked directly',
  };
  const ICONS = { passed: '✓', failed: '✗', skipped: '–' };
  const STATUS_TEXT = { passed: 'passed', failed: 'failed', skipped: 'skipped' };
  const SRC_LOCAL = 'computed in this browser';
  // A registry 1.x does not bind anchors to organisations: the check is skipped with this reason (src/verifier).
  const ORG_1X = 'organisation not verified (registry 1.x)';

  // schema, digest, commitment, merkle: src/verifier's checkReceiptLocally, run in this browser.
  function localChecks(receipt, payloadState) {
    const out = {};
    const local = window.NotaryVerifier.checkReceiptLocally(
      receipt,
      payloadState.given && !payloadState.error ? { payload: payloadState.value } : {},
    );
    for (const c of local.checks) out[c.name] = { status: c.status, reason: c.reason };
    if (out.schema.status !== 'passed') {
      for (const n of ['digest', 'commitment', 'merkle']) out[n] = { status: 'skipped', reason: 'receipt format' };
    } else if (payloadState.error) out.digest = { status: 'failed', reason: payloadState.error };
    else if (!payloadState.given) out.digest = { status: 'skipped', reason: 'no document supplied' };
    return out;
  }

  async function serverVerify(receipt) {
    try {
      const r = await fetchJson('/v1/verify', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ receipt }), // never the payload
      });
      if (r.ok && r.body && Array.isArray(r.body.checks)) return { verdict: r.body };
      if (r.status >= 400 && r.status < 500) return { rejected: problemText(r) };
      return { error: `the server could not verify: ${problemText(r)}` };
    } catch (e) {
      return { error: `the server could not be reached: ${errText(e)}` };
    }
  }

  function withTimeout(promise, ms, what) {
    let timer;
    const t = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms / 1000} s`)), ms);
    });
    return Promise.race([promise, t]).finally(() => clearTimeout(timer));
  }

  // The chain checks of src/verifier (signatures of a receipt v2, anchor, organisation, submitter, timestamp, and the
  // anchoring transaction), asked from
  // this browser over the JSON-RPC URL the service publishes.
  async function directChainCheck(receipt) {
    let info;
    try {
      const r = await fetchJson('/v1/info', { headers: { accept: 'application/json' } });
      if (!r.ok || !r.body || typeof r.body !== 'object') {
        return {
          status: 'skipped',
          reason: `the service does not publish its chain details (/v1/info: ${problemText(r)})`,
        };
      }
      info = r.body;
    } catch (e) {
      return { status: 'skipped', reason: `could not read /v1/info: ${errText(e)}` };
    }
    if (!info.rpcUrl) return { status: 'skipped', reason: 'the service publishes no public JSON-RPC URL' };
    const a = receipt.anchor;
    try {
      const got = await withTimeout(
        window.NotaryVerifier.verifyOnChain(receipt, info.rpcUrl, info.registry ? { registry: info.registry } : {}),
        15000,
        'the chain query',
      );
      if (!got.verdict) {
        return {
          status: 'failed',
          reason: `${info.rpcUrl} is chain ${got.chainId}, the receipt names chain ${a.chainId}`,
        };
      }
      const checks = got.verdict.checks.filter((c) =>
        ['signatures', 'anchor', 'organisation', 'submitter', 'timestamp'].includes(c.name),
      );
      const failed = checks.filter(
        (c) => c.status !== 'passed' && !(c.name === 'organisation' && c.status === 'skipped' && c.reason === ORG_1X),
      );
      if (failed.length) {
        return { status: 'failed', reason: failed.map((c) => `${c.name}: ${c.reason || c.status}`).join('; ') };
      }
      const signed = got.verdict.signers ? `; signed by ${signersText(got.verdict.signers)}` : '';
      return {
        status: 'passed',
        reason: `${info.rpcUrl}: root anchored in block ${a.blockNumber}, seq ${a.seq}, by ${a.submitter}, at ${isoTime(a.blockTimestamp)}${signed}`,
      };
    } catch (e) {
      const hint = /fetch|network/i.test(errText(e))
        ? " (the RPC endpoint may be unreachable from this browser, or not allowed by the page's security policy)"
        : '';
      return { status: 'skipped', reason: `could not query ${info.rpcUrl}: ${errText(e)}${hint}` };
    }
  }

  // Who signed, as src/verifier lists it once the `signatures` check passed (receipt v2).
  function signersText(signers) {
    if (!Array.isArray(signers)) return '';
    return signers
      .filter(isObj)
      .map(
        (s) =>
          `${s.signer} (SIGNER key of ${s.orgId}${s.until ? `, removed at block ${s.until}, after the anchor` : ''})`,
      )
      .join(', ');
  }

  function combine(local, server, direct, signed) {
    const rows = [];
    const sv = server.verdict;
    const serverCheck = (name) => (sv ? sv.checks.find((c) => c && c.name === name) : undefined);
    const serverNote = server.verdict
      ? null
      : server.rejected
        ? `server rejected the receipt: ${server.rejected}`
        : server.error;

    for (const name of ['schema', 'digest', 'commitment', 'merkle']) {
      const mine = local[name];
      const row = { name, status: mine.status, reason: mine.reason, source: SRC_LOCAL };
      const theirs = serverCheck(name);
      if (name !== 'digest' && theirs && theirs.status === 'failed' && mine.status !== 'failed') {
        row.status = 'failed';
        row.reason = `the server disagrees: ${theirs.reason || 'failed'}`;
        row.source = `${SRC_LOCAL} and by the server`;
      } else if (name === 'schema' && server.rejected && mine.status === 'passed') {
        row.status = 'failed';
        row.reason = `server rejected the receipt: ${server.rejected}`;
      }
      rows.push(row);
    }
    // A receipt v2's `signatures` needs the member directory: the server reads it on chain (after commitment).
    const chainChecks = ['anchor', 'organisation', 'submitter', 'timestamp'];
    for (const name of signed ? ['signatures', ...chainChecks] : chainChecks) {
      const theirs = serverCheck(name);
      const source = 'checked by the server on chain';
      if (theirs) {
        const status = ['passed', 'failed', 'skipped'].includes(theirs.status) ? theirs.status : 'failed';
        rows.push({ name, status, reason: theirs.reason, source });
      } else rows.push({ name, status: 'skipped', reason: serverNote || 'not reported by the server', source });
    }
    if (direct)
      rows.push({ name: 'direct', status: direct.status, reason: direct.reason, source: 'this browser, JSON-RPC' });
    const sig = rows.find((r) => r.name === 'signatures');
    if (sig && sig.status === 'passed' && sv && sv.signers) {
      sig.reason = `signed by ${signersText(sv.signers)}`;
      rows.signers = sv.signers;
    }
    // checks in the verifier's order: signatures comes right after commitment
    if (sig) {
      rows.splice(rows.indexOf(sig), 1);
      rows.splice(rows.findIndex((r) => r.name === 'commitment') + 1, 0, sig);
    }
    return rows;
  }

  function verdictOf(rows, hasPayload) {
    if (rows.some((r) => r.status === 'failed')) return 'invalid';
    const required = rows.filter(
      (r) =>
        r.name !== 'direct' &&
        !(r.name === 'digest' && !hasPayload) &&
        !(r.name === 'organisation' && r.status === 'skipped' && r.reason === ORG_1X),
    );
    return required.every((r) => r.status === 'passed') ? 'valid' : 'incomplete';
  }

  // ---------- rendering ----------
  function isoTime(sec) {
    const n = Number(sec);
    if (!Number.isFinite(n)) return String(sec);
    try {
      return new Date(n * 1000).toISOString();
    } catch {
      return String(sec);
    }
  }

  function renderRows(rows) {
    return el(
      'ul',
      { class: 'checks', 'aria-label': 'Checks' },
      rows.map((r) =>
        el('li', { class: `check-row ${r.status}`, 'data-check': r.name, 'data-status': r.status }, [
          el('span', { class: 'icon', 'aria-hidden': 'true', text: ICONS[r.status] }),
          el('div', { class: 'head' }, [
            el('span', { class: 'name', text: LABELS[r.name] || r.name }),
            el('span', { class: 'status', text: STATUS_TEXT[r.status] }),
            el('span', { class: 'source', text: `(${r.source})` }),
          ]),
          r.reason ? el('p', { class: 'reason', text: r.reason }) : null,
        ]),
      ),
    );
  }

  /** The organisation as the page may state it: verified only when the `organisation` check passed. */
  function organisationFact(orgId, rows) {
    if (orgId === undefined || orgId === null) return undefined;
    const row = rows.find((r) => r.name === 'organisation');
    if (row && row.status === 'passed') return `${orgId} (verified on chain)`;
    if (row && row.status === 'failed') return `${orgId} — NOT the anchoring organisation (${row.reason || 'failed'})`;
    return `${orgId} — as the record says; ${row && row.reason ? row.reason : 'organisation not verified'}`;
  }

  /** Receipt v2: who signed, stated only when the `signatures` check passed. */
  function signedFact(receipt, rows) {
    if (!isObj(receipt) || receipt.version !== 2) return undefined;
    const row = rows.find((r) => r.name === 'signatures');
    if (row && row.status === 'passed' && rows.signers) return signersText(rows.signers);
    return `not verified (${row && row.reason ? row.reason : 'signatures not checked'})`;
  }

  function renderFacts(receipt, rows) {
    const rec = isObj(receipt) && isObj(receipt.record) ? receipt.record : {};
    const an = isObj(receipt) && isObj(receipt.anchor) ? receipt.anchor : {};
    const pr = isObj(receipt) && isObj(receipt.proof) ? receipt.proof : {};
    const facts = [
      ['Record id', rec.id],
      ['Organisation', organisationFact(rec.orgId, rows)],
      ['Signed by', signedFact(receipt, rows)],
      ['Type', rec.type],
      ['Chain id', an.chainId],
      ['Registry', an.registry],
      ['Transaction', an.txHash],
      ['Block', an.blockNumber],
      ['Time (UTC)', an.blockTimestamp === undefined ? undefined : isoTime(an.blockTimestamp)],
      ['Submitter', an.submitter],
      ['Batch seq', an.seq],
      ['Merkle root', pr.root],
      ['Digest', rec.digest],
      ['Commitment', isObj(receipt) ? receipt.commitment : undefined],
    ].filter(([, v]) => v !== undefined && v !== null);
    const dl = el('dl', { class: 'facts' });
    for (const [k, v] of facts) {
      dl.appendChild(el('dt', { text: k }));
      dl.appendChild(el('dd', { 'data-fact': k, text: typeof v === 'string' ? v : JSON.stringify(v) }));
    }
    return dl;
  }

  function renderVerdict(kind, hasPayload, receipt) {
    const chain = isObj(receipt) && isObj(receipt.anchor) ? receipt.anchor.chainId : '?';
    const text = {
      valid: [
        '✓',
        'Valid',
        hasPayload
          ? `The document matches the receipt, and the receipt is anchored on chain ${chain}.`
          : `The receipt is anchored on chain ${chain}. No document was supplied, so its content was not checked.`,
      ],
      invalid: ['✗', 'Not valid', 'At least one check failed: see the reasons below.'],
      incomplete: ['?', 'Not fully verified', 'Some checks could not be completed: see below.'],
    }[kind];
    return el('div', { class: `verdict ${kind}`, id: 'verdict', 'data-verdict': kind, tabindex: '-1' }, [
      el('span', { class: 'icon', 'aria-hidden': 'true', text: text[0] }),
      el('div', {}, [el('p', { class: 'title', text: `${text[1]}` }), el('p', { text: text[2] })]),
    ]);
  }

  function showResults(nodes) {
    const out = $('results');
    out.replaceChildren(...nodes);
  }

  // ---------- inputs: files, drop zone, textareas ----------
  function readFile(file) {
    return file.text();
  }

  // The exact bytes of the last document file loaded: a UBL invoice's digest covers the SHA-256 of its bytes, which
  // a round trip through text could change (a byte-order mark, invalid UTF-8).
  let documentFile = null;

  function looksLikeReceipt(x) {
    return isObj(x) && 'version' in x && 'record' in x && 'proof' in x;
  }

  async function takeFiles(files, target) {
    for (const file of Array.from(files)) {
      const text = await readFile(file);
      let kind = target;
      if (!kind) {
        try {
          kind = looksLikeReceipt(JSON.parse(text)) ? 'receipt' : 'payload';
        } catch {
          kind = 'payload';
        }
      }
      $(`${kind}-text`).value = text;
      if (kind === 'payload') documentFile = { text, bytes: new Uint8Array(await file.arrayBuffer()) };
      $(`${kind}-file-name`).textContent =
        `${kind === 'receipt' ? 'Receipt' : 'Document'} loaded from ${file.name} (${file.size} bytes)`;
    }
  }

  function setupInputs() {
    const dz = $('dropzone');
    const pick = () => $('receipt-file').click();
    dz.addEventListener('click', pick);
    dz.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        pick();
      }
    });
    dz.addEventListener('dragover', (e) => {
      e.preventDefault();
      dz.classList.add('over');
    });
    dz.addEventListener('dragleave', () => dz.classList.remove('over'));
    dz.addEventListener('drop', (e) => {
      e.preventDefault();
      dz.classList.remove('over');
      if (e.dataTransfer && e.dataTransfer.files.length) takeFiles(e.dataTransfer.files, null).catch(reportInputError);
    });
    $('receipt-file').addEventListener('change', (e) => {
      takeFiles(e.target.files, 'receipt').catch(reportInputError);
    });
    $('payload-file').addEventListener('change', (e) => {
      takeFiles(e.target.files, 'payload').catch(reportInputError);
    });
  }

  function reportInputError(e) {
    showResults([message('error', `Could not read the file: ${errText(e)}`)]);
  }

  function parsePayload() {
    const text = $('payload-text').value;
    if (text.trim() === '') return { given: false };
    if (text.trimStart().startsWith('<')) {
      // A UBL 2.1 Invoice or CreditNote as it travels: mapped to the record's payload by the service's own code.
      const bytes = documentFile && documentFile.text === text ? documentFile.bytes : new TextEncoder().encode(text);
      try {
        return { given: true, value: window.NotaryVerifier.ublToPayload(bytes).payload };
      } catch (e) {
        return { given: true, error: `the document is not a UBL 2.1 invoice this page can read: ${errText(e)}` };
      }
    }
    try {
      return { given: true, value: JSON.parse(text) };
    } catch (e) {
      return { given: true, error: `the document is not valid JSON: ${errText(e)}` };
    }
  }

  let running = false;
  async function verify() {
    if (running) return;
    const raw = $('receipt-text').value.trim();
    if (!raw) {
      showResults([message('error', 'Provide a receipt: choose or drop a file, or paste its JSON.')]);
      return;
    }
    let receipt;
    try {
      receipt = JSON.parse(raw);
    } catch (e) {
      showResults([message('error', `The receipt is not valid JSON: ${errText(e)}`)]);
      return;
    }
    if (!window.NotaryVerifier || typeof window.NotaryVerifier.checkReceiptLocally !== 'function') {
      showResults([message('error', 'The verification libraries did not load; reload the page.')]);
      return;
    }
    running = true;
    const btn = $('verify-btn');
    btn.disabled = true;
    $('results').setAttribute('aria-busy', 'true');
    showResults([message('info', 'Verifying…')]);
    try {
      const payloadState = parsePayload();
      const local = localChecks(receipt, payloadState);
      const schemaOk = local.schema.status === 'passed';
      const [server, direct] = await Promise.all([
        serverVerify(receipt),
        $('direct-chain').checked
          ? schemaOk
            ? directChainCheck(receipt)
            : Promise.resolve({ status: 'skipped', reason: 'receipt format' })
          : Promise.resolve(null),
      ]);
      const rows = combine(local, server, direct, isObj(receipt) && receipt.version === 2);
      const kind = verdictOf(rows, payloadState.given);
      const nodes = [renderVerdict(kind, payloadState.given, receipt)];
      if (server.error) nodes.push(message('warn', `On-chain checks unavailable: ${server.error}`));
      nodes.push(
        el('h3', { text: 'Checks' }),
        renderRows(rows),
        el('p', { class: 'muted' }, [
          'Digest, commitment and Merkle proof were computed in this browser; the document was not uploaded. ',
          receipt.version === 2
            ? 'Signer keys, anchor, organisation, submitter and timestamp were read from the chain by the server'
            : 'Anchor, organisation, submitter and timestamp were read from the chain by the server',
          server.verdict ? ` (server verdict: ${server.verdict.valid ? 'valid' : 'not valid'}).` : '.',
        ]),
        el('h3', { text: 'Receipt' }),
        renderFacts(receipt, rows),
      );
      showResults(nodes);
      $('verdict').focus();
    } catch (e) {
      showResults([message('error', `Verification stopped: ${errText(e)}`)]);
    } finally {
      running = false;
      btn.disabled = false;
      $('results').removeAttribute('aria-busy');
    }
  }

  function clearAll() {
    for (const id of ['receipt-text', 'payload-text', 'receipt-file', 'payload-file']) $(id).value = '';
    $('receipt-file-name').textContent = '';
    $('payload-file-name').textContent = '';
    showResults([el('p', { class: 'muted', text: 'No receipt verified yet.' })]);
  }

  // ---------- lineage ----------
  const KEY_STORE = 'ledger-notary.apiKey';
  let apiKey = '';

  function storage() {
    try {
      return window.sessionStorage;
    } catch {
      return null;
    }
  }

  function setupTrace() {
    const s = storage();
    const saved = s && s.getItem(KEY_STORE);
    if (saved) {
      apiKey = saved;
      $('trace-key').value = saved;
      $('trace-remember').checked = true;
    }
    $('trace-forget').addEventListener('click', () => {
      apiKey = '';
      $('trace-key').value = '';
      $('trace-remember').checked = false;
      if (s) s.removeItem(KEY_STORE);
      $('trace-out').replaceChildren(message('info', 'The key was forgotten.'));
    });
    $('trace-form').addEventListener('submit', (e) => {
      e.preventDefault();
      runTrace();
    });
  }

  async function runTrace() {
    const out = $('trace-out');
    const id = $('trace-id').value.trim();
    apiKey = $('trace-key').value.trim();
    const s = storage();
    if (s) {
      if ($('trace-remember').checked && apiKey) s.setItem(KEY_STORE, apiKey);
      else s.removeItem(KEY_STORE);
    }
    if (!id) return out.replaceChildren(message('error', 'Enter a record id.'));
    if (!apiKey) return out.replaceChildren(message('error', 'Enter an API key with audit access.'));
    out.setAttribute('aria-busy', 'true');
    out.replaceChildren(message('info', 'Loading lineage…'));
    try {
      const r = await fetchJson(`/v1/records/${encodeURIComponent(id)}/trace`, {
        headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
      });
      if (r.status === 501 || (r.status === 404 && !(r.body && typeof r.body.code === 'string'))) {
        out.replaceChildren(message('warn', `Lineage tracing is not available on this server (${problemText(r)}).`));
        out.firstChild.setAttribute('data-trace', 'unavailable');
        return;
      }
      if (r.status === 401 || r.status === 403) {
        return out.replaceChildren(message('error', `The API key was refused: ${problemText(r)}.`));
      }
      if (r.status === 404) {
        return out.replaceChildren(
          message('error', `Record not found, or not visible with this key: ${problemText(r)}.`),
        );
      }
      if (!r.ok) return out.replaceChildren(message('error', `Could not load the lineage: ${problemText(r)}.`));
      const graph = normaliseTrace(r.body, id);
      if (!graph)
        return out.replaceChildren(message('error', 'The server answered with an unexpected lineage format.'));
      out.replaceChildren(...renderTrace(graph));
    } catch (e) {
      out.replaceChildren(message('error', `Could not load the lineage: ${errText(e)}`));
    } finally {
      out.removeAttribute('aria-busy');
    }
  }

  function normaliseTrace(body, requested) {
    if (!isObj(body) || !Array.isArray(body.nodes)) return null;
    const nodes = new Map();
    for (const n of body.nodes) {
      if (!isObj(n) || typeof n.id !== 'string' || nodes.has(n.id)) continue;
      nodes.set(n.id, n);
    }
    const edges = [];
    const seen = new Set();
    for (const e of Array.isArray(body.edges) ? body.edges : []) {
      if (!isObj(e) || typeof e.parent !== 'string' || typeof e.child !== 'string' || e.parent === e.child) continue;
      const key = `${e.parent}\u0000${e.child}`;
      if (seen.has(key)) continue;
      seen.add(key);
      for (const id of [e.parent, e.child]) if (!nodes.has(id)) nodes.set(id, { id, missing: true });
      edges.push({ parent: e.parent, child: e.child });
    }
    const root = typeof body.root === 'string' ? body.root : requested;
    return { root, nodes: [...nodes.values()], edges };
  }

  // Longest-path layering (sources on top), so ancestors sit above the record and descendants below it; within a
  // layer nodes are ordered by the mean position of their parents (one barycentre sweep).
  function layout(graph) {
    const ids = graph.nodes.map((n) => n.id);
    const parents = new Map(ids.map((id) => [id, []]));
    const children = new Map(ids.map((id) => [id, []]));
    for (const e of graph.edges) {
      parents.get(e.child).push(e.parent);
      children.get(e.parent).push(e.child);
    }
    const layer = new Map();
    const indeg = new Map(ids.map((id) => [id, parents.get(id).length]));
    const queue = ids.filter((id) => indeg.get(id) === 0);
    for (const id of queue) layer.set(id, 0);
    while (queue.length) {
      const id = queue.shift();
      for (const c of children.get(id)) {
        layer.set(c, Math.max(layer.get(c) || 0, layer.get(id) + 1));
        indeg.set(c, indeg.get(c) - 1);
        if (indeg.get(c) === 0) queue.push(c);
      }
    }
    for (const id of ids) if (!layer.has(id)) layer.set(id, 0); // in a cycle: should not happen in a DAG
    const layers = [];
    for (const id of ids) (layers[layer.get(id)] ||= []).push(id);
    const pos = new Map();
    layers.forEach((ls, li) => {
      if (!ls) return;
      if (li > 0) {
        const score = (id) => {
          const ps = parents.get(id).filter((p) => pos.has(p));
          return ps.length ? ps.reduce((s, p) => s + pos.get(p), 0) / ps.length : Infinity;
        };
        const order = new Map(ls.map((id, i) => [id, i]));
        ls.sort((a, b) => score(a) - score(b) || order.get(a) - order.get(b));
      }
      ls.forEach((id, i) => pos.set(id, i));
    });
    return { layers: layers.map((l) => l || []), layer, pos };
  }

  const NODE_W = 200;
  const NODE_H = 78;
  const GAP_X = 24;
  const GAP_Y = 54;
  const PAD = 16;

  function clip(s, n) {
    s = String(s);
    return s.length > n ? `${s.slice(0, n - 1)}…` : s;
  }

  function markOf(node) {
    const v = node.verification;
    if (isObj(v) && v.valid === true) return { cls: 'ok', icon: '✓', text: 'verified' };
    if (isObj(v) && v.valid === false) return { cls: 'bad', icon: '✗', text: 'not verified' };
    return { cls: 'none', icon: '–', text: 'not checked' };
  }

  function renderTrace(graph) {
    const { layers, layer, pos } = layout(graph);
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    const widest = Math.max(1, ...layers.map((l) => l.length));
    const width = PAD * 2 + widest * NODE_W + (widest - 1) * GAP_X;
    const height = PAD * 2 + layers.length * NODE_H + (layers.length - 1) * GAP_Y;
    const xy = (id) => {
      const row = layers[layer.get(id)];
      const rowWidth = row.length * NODE_W + (row.length - 1) * GAP_X;
      return {
        x: (width - rowWidth) / 2 + pos.get(id) * (NODE_W + GAP_X),
        y: PAD + layer.get(id) * (NODE_H + GAP_Y),
      };
    };
    const titleId = 'dag-title';
    const descId = 'dag-desc';
    const root = svg(
      'svg',
      {
        class: 'dag',
        width,
        height,
        viewBox: `0 0 ${width} ${height}`,
        role: 'img',
        'aria-labelledby': `${titleId} ${descId}`,
      },
      [
        svg('title', { id: titleId, text: `Lineage of record ${graph.root}` }),
        svg('desc', {
          id: descId,
          text: `${graph.nodes.length} records and ${graph.edges.length} links; parents above children. The same information is listed below.`,
        }),
        svg('defs', {}, [
          svg(
            'marker',
            { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
            [svg('path', { class: 'arrow', d: 'M0,0 L10,5 L0,10 z' })],
          ),
        ]),
      ],
    );
    for (const e of graph.edges) {
      const a = xy(e.parent);
      const b = xy(e.child);
      const x1 = a.x + NODE_W / 2;
      const y1 = a.y + NODE_H;
      const x2 = b.x + NODE_W / 2;
      const y2 = b.y;
      const d =
        y2 > y1
          ? `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2}`
          : `M${x1},${y1} L${x2},${y2}`;
      root.appendChild(
        svg('path', { class: 'edge', d, 'marker-end': 'url(#arrow)', 'data-parent': e.parent, 'data-child': e.child }),
      );
    }
    for (const n of graph.nodes) {
      const { x, y } = xy(n.id);
      const m = markOf(n);
      const isRoot = n.id === graph.root;
      const type = n.missing ? '(not disclosed)' : n.type || '(unknown type)';
      const g = svg('g', {
        class: `node ${m.cls}${isRoot ? ' root' : ''}`,
        transform: `translate(${x},${y})`,
        'data-id': n.id,
        'data-valid': m.cls,
      });
      g.appendChild(
        svg('title', {
          text: `${type} ${n.id}\norg: ${n.orgId || '?'}\nstatus: ${n.status || '?'}\n${m.text}${isRoot ? '\n(the record you asked for)' : ''}`,
        }),
      );
      g.appendChild(svg('rect', { width: NODE_W, height: NODE_H, rx: 8, ry: 8 }));
      g.appendChild(svg('text', { class: 't', x: 10, y: 20, text: clip(type, 22) }));
      g.appendChild(svg('text', { class: `mark-${m.cls}`, x: NODE_W - 10, y: 21, 'text-anchor': 'end', text: m.icon }));
      g.appendChild(svg('text', { x: 10, y: 38, text: clip(`org: ${n.orgId || '?'}`, 30) }));
      g.appendChild(svg('text', { x: 10, y: 54, text: clip(`${n.status || '?'} · ${String(n.id).slice(-8)}`, 30) }));
      g.appendChild(
        svg('text', {
          class: `mark-${m.cls}`,
          x: 10,
          y: 70,
          text: `${m.icon} ${m.text}${isRoot ? ' · this record' : ''}`,
        }),
      );
      root.appendChild(g);
    }

    const parentsOf = new Map(graph.nodes.map((n) => [n.id, []]));
    for (const e of graph.edges) parentsOf.get(e.child).push(e.parent);
    const label = (id) => {
      const n = byId.get(id);
      return `${(n && n.type) || 'record'} ${String(id).slice(-8)}`;
    };
    const ordered = layers.flat();
    const list = el(
      'ol',
      { class: 'trace-list', 'aria-label': 'Records in the lineage, ancestors first' },
      ordered.map((id) => {
        const n = byId.get(id);
        const m = markOf(n);
        const ps = parentsOf.get(id);
        return el('li', { 'data-id': id }, [
          el('strong', { text: n.missing ? '(not disclosed)' : n.type || '(unknown type)' }),
          ` ${id}${id === graph.root ? ' (this record)' : ''} — org ${n.orgId || '?'}, ${n.status || 'status unknown'}, `,
          el('span', { class: `mark-${m.cls}`, text: `${m.icon} ${m.text}` }),
          ps.length ? `; parents: ${ps.map(label).join(', ')}` : '; no parents',
        ]);
      }),
    );
    const okCount = graph.nodes.filter((n) => markOf(n).cls === 'ok').length;
    const badCount = graph.nodes.filter((n) => markOf(n).cls === 'bad').length;
    const summary = message(
      badCount ? 'error' : 'info',
      `${graph.nodes.length} record(s), ${graph.edges.length} link(s): ${okCount} verified, ${badCount} not verified, ${
        graph.nodes.length - okCount - badCount
      } not checked.`,
    );
    summary.setAttribute('data-trace', 'rendered');
    return [summary, el('div', { class: 'dag-wrap' }, [root]), el('h3', { text: 'Records' }), list];
  }

  // ---------- start ----------
  function start() {
    setupInputs();
    setupTrace();
    $('verify-form').addEventListener('submit', (e) => {
      e.preventDefault();
      verify();
    });
    $('clear-btn').addEventListener('click', clearAll);
    document.documentElement.setAttribute('data-ready', 'true');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
