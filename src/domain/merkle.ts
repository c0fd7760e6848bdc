import { DomainError } from './errors';
import { fastKeccak, initHashing, keccak256Bytes } from './hashing';
import { assertHex32, bytesToHex32, hex32ToBytes, isHex32, writeHex32, type Hex32 } from './hex';

// DESIGN §2.3: OpenZeppelin's *standard* Merkle tree over single `bytes32` values.
// - leaf = keccak256(keccak256(abi.encode(commitment))); abi.encode of one bytes32 is the 32 bytes themselves.
//   The double hash makes a leaf differ from any 64-byte inner node (second-preimage defence, see OZ
//   MerkleProof.sol's warning about 64-byte leaves).
// - leaves sorted ascending by leaf hash (stable: equal hashes keep input order), stored at the END of a
//   complete-tree array of 2n-1 nodes in reverse order (sorted leaf k at index 2n-2-k); node i has children
//   2i+1 and 2i+2; inner node = keccak256(min(a,b) || max(a,b)) (sorted pair, OZ `MerkleProof`).
// Hot loops work on one flat Uint8Array; no per-node objects or hex strings.

/** A built tree; byte-identical to `StandardMerkleTree.of(values.map((v) => [v]), ['bytes32'])`. */
export interface MerkleTree {
  /** Root as {@link Hex32}. */
  readonly root: Hex32;
  /** Number of leaves (= number of input commitments). */
  readonly length: number;
  /** All 2n-1 nodes, 32 bytes each, in OZ array layout (root at 0). */
  readonly nodes: Uint8Array;
  /** Tree position (index into `nodes`/32) of the leaf of input `i`. */
  leafIndexOf(i: number): number;
  /** Leaf hash of input `i`. */
  leafHash(i: number): Hex32;
  /** Proof (siblings, leaf upwards) of input `i`. */
  proof(i: number): Hex32[];
  /** Proofs of all inputs, in input order. Allocates hex strings: for big trees prefer {@link proofsAllFlat}. */
  proofsAll(): Hex32[][];
  /**
   * Proofs of all inputs without copying hashes: the siblings of input i are the nodes at
   * `index[offsets[i] .. offsets[i+1])` (node j is `nodes[j*32 .. j*32+32)`). 4 bytes per sibling.
   */
  proofIndicesAll(): { offsets: Uint32Array; index: Uint32Array };
  /** Proofs of all inputs as bytes: proof of input i is `path[offsets[i]*32 .. offsets[i+1]*32)`. 32 bytes per sibling. */
  proofsAllFlat(): { offsets: Uint32Array; path: Uint8Array };
  /** The OZ `StandardMerkleTree.dump()` form (`standard-v1`), loadable by `StandardMerkleTree.load`. */
  dump(): {
    format: 'standard-v1';
    leafEncoding: ['bytes32'];
    tree: Hex32[];
    values: { value: [Hex32]; treeIndex: number }[];
  };
}

type Hash2 = (out: Uint8Array, outOff: number, a: Uint8Array, aOff: number, len: number) => void;

// One keccak into `out`, on `len` bytes of `a` at `aOff`; picks the WASM hasher when ready.
function hasher(): Hash2 {
  const h = fastKeccak();
  if (h !== undefined) {
    return (out, outOff, a, aOff, len) => {
      out.set(
        h
          .init()
          .update(a.subarray(aOff, aOff + len))
          .digest('binary'),
        outOff,
      );
    };
  }
  return (out, outOff, a, aOff, len) => {
    out.set(keccak256Bytes(a.subarray(aOff, aOff + len)), outOff);
  };
}

function compare32(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  for (let k = 0; k < 32; k++) {
    const d = a[aOff + k]! - b[bOff + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

// Stable ascending order of n 32-byte hashes, as input indices. Sorting a Float64Array natively is far
// faster than a comparator sort: each key packs the top (53 - idxBits) bits of the hash above the index, so
// keys are distinct and, for equal prefixes, ordered by index. Runs sharing a prefix are then fixed up with a
// full comparison (rare: ~n^2 / 2^(54 - idxBits) pairs).
function sortedOrder(leaves: Uint8Array, n: number): Uint32Array {
  const idxBits = Math.max(1, Math.ceil(Math.log2(n)));
  const prefixBits = 53 - idxBits;
  const keys = new Float64Array(n);
  const scale = 2 ** idxBits;
  const view = new DataView(leaves.buffer, leaves.byteOffset, leaves.byteLength);
  for (let i = 0; i < n; i++) {
    // top 48 bits, exact in a double; then keep prefixBits of them
    const top48 = view.getUint32(i * 32) * 65536 + view.getUint16(i * 32 + 4);
    keys[i] = Math.floor(top48 / 2 ** (48 - prefixBits)) * scale + i;
  }
  keys.sort();
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = keys[k]! % scale;
  let runStart = 0;
  for (let k = 1; k <= n; k++) {
    if (k < n && Math.floor(keys[k]! / scale) === Math.floor(keys[k - 1]! / scale)) continue;
    if (k - runStart > 1) {
      const run = Array.from(order.subarray(runStart, k)).sort(
        (a, b) => compare32(leaves, a * 32, leaves, b * 32) || a - b,
      );
      order.set(run, runStart);
    }
    runStart = k;
  }
  return order;
}

function toFlat(commitments: readonly Hex32[] | Uint8Array): Uint8Array {
  if (commitments instanceof Uint8Array) {
    if (commitments.length % 32 !== 0) {
      throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'flat commitments must be n*32 bytes' });
    }
    return commitments;
  }
  if (!Array.isArray(commitments)) {
    throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'commitments must be an array or n*32 bytes' });
  }
  const buf = new Uint8Array(commitments.length * 32);
  for (let i = 0; i < commitments.length; i++) {
    const c = commitments[i];
    if (!isHex32(c)) assertHex32(c, `commitments[${i}]`);
    writeHex32(c, buf, i * 32);
  }
  return buf;
}

class FlatMerkleTree implements MerkleTree {
  readonly root: Hex32;
  readonly length: number;
  readonly nodes: Uint8Array;
  // input index → tree index
  private readonly treeIndex: Uint32Array;
  private readonly commitments: Uint8Array;

  constructor(commitments: Uint8Array, nodes: Uint8Array, treeIndex: Uint32Array) {
    this.commitments = commitments;
    this.nodes = nodes;
    this.treeIndex = treeIndex;
    this.length = treeIndex.length;
    this.root = bytesToHex32(nodes, 0);
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new DomainError({ code: 'MERKLE_INDEX_OUT_OF_RANGE', message: `no leaf ${i} in a tree of ${this.length}` });
    }
  }

  leafIndexOf(i: number): number {
    this.check(i);
    return this.treeIndex[i]!;
  }

  leafHash(i: number): Hex32 {
    return bytesToHex32(this.nodes, this.leafIndexOf(i) * 32);
  }

  proof(i: number): Hex32[] {
    const out: Hex32[] = [];
    // sibling of j is j-1 if j is even (right child), j+1 if odd; parent is (j-1)>>1
    for (let j = this.leafIndexOf(i); j > 0; j = (j - 1) >> 1)
      out.push(bytesToHex32(this.nodes, (j - (j & 1 ? -1 : 1)) * 32));
    return out;
  }

  proofsAll(): Hex32[][] {
    const out = new Array<Hex32[]>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.proof(i);
    return out;
  }

  private proofOffsets(): Uint32Array {
    const n = this.length;
    const offsets = new Uint32Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) {
      offsets[i] = total;
      // depth of tree index j = floor(log2(j + 1))
      total += 31 - Math.clz32(this.treeIndex[i]! + 1);
    }
    offsets[n] = total;
    return offsets;
  }

  proofIndicesAll(): { offsets: Uint32Array; index: Uint32Array } {
    const n = this.length;
    const offsets = this.proofOffsets();
    const index = new Uint32Array(offsets[n]!);
    for (let i = 0; i < n; i++) {
      let o = offsets[i]!;
      for (let j = this.treeIndex[i]!; j > 0; j = (j - 1) >> 1) index[o++] = j & 1 ? j + 1 : j - 1;
    }
    return { offsets, index };
  }

  proofsAllFlat(): { offsets: Uint32Array; path: Uint8Array } {
    const n = this.length;
    const offsets = this.proofOffsets();
    const total = offsets[n]!;
    const path = new Uint8Array(total * 32);
    const src = new Int32Array(this.nodes.buffer, this.nodes.byteOffset, this.nodes.byteLength >> 2);
    const dst = new Int32Array(path.buffer);
    for (let i = 0; i < n; i++) {
      let o = offsets[i]! * 8;
      for (let j = this.treeIndex[i]!; j > 0; j = (j - 1) >> 1) {
        const s = (j & 1 ? j + 1 : j - 1) * 8;
        for (let k = 0; k < 8; k++) dst[o + k] = src[s + k]!;
        o += 8;
      }
    }
    return { offsets, path };
  }

  dump(): ReturnType<MerkleTree['dump']> {
    const tree: Hex32[] = [];
    for (let j = 0; j < 2 * this.length - 1; j++) tree.push(bytesToHex32(this.nodes, j * 32));
    const values: { value: [Hex32]; treeIndex: number }[] = [];
    for (let i = 0; i < this.length; i++) {
      values.push({ value: [bytesToHex32(this.commitments, i * 32)], treeIndex: this.treeIndex[i]! });
    }
    return { format: 'standard-v1', leafEncoding: ['bytes32'], tree, values };
  }
}

/**
 * Builds the DESIGN §2.3 tree synchronously. Uses the WASM keccak when `initHashing()` has completed
 * (otherwise the correct but ~10x slower ethers keccak). Input: hex commitments or n*32 flat bytes.
 */
export function buildMerkleTreeSync(commitments: readonly Hex32[] | Uint8Array): MerkleTree {
  const flat = toFlat(commitments);
  const n = flat.length / 32;
  if (n === 0) throw new DomainError({ code: 'MERKLE_EMPTY', message: 'a Merkle tree needs at least one leaf' });
  if (n > 0x7fffffff) throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'too many leaves' });
  // Own copy of the inputs when given bytes (callers may reuse their buffer); hex input was decoded afresh.
  const values = commitments instanceof Uint8Array ? new Uint8Array(flat) : flat;
  const hash = hasher();
  const leaves = new Uint8Array(n * 32);
  const tmp = new Uint8Array(32);
  for (let i = 0; i < n; i++) {
    hash(tmp, 0, values, i * 32, 32);
    hash(leaves, i * 32, tmp, 0, 32);
  }
  const order = sortedOrder(leaves, n);
  const size = 2 * n - 1;
  const nodes = new Uint8Array(size * 32);
  const treeIndex = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const j = size - 1 - k;
    treeIndex[i] = j;
    nodes.set(leaves.subarray(i * 32, i * 32 + 32), j * 32);
  }
  const pair = new Uint8Array(64);
  for (let j = size - 1 - n; j >= 0; j--) {
    const l = (2 * j + 1) * 32;
    const r = l + 32;
    if (compare32(nodes, l, nodes, r) <= 0) {
      // left ≤ right: children are adjacent, hash them in place
      hash(nodes, j * 32, nodes, l, 64);
    } else {
      pair.set(nodes.subarray(r, r + 32), 0);
      pair.set(nodes.subarray(l, l + 32), 32);
      hash(nodes, j * 32, pair, 0, 64);
    }
  }
  return new FlatMerkleTree(values, nodes, treeIndex);
}

/** Async {@link buildMerkleTreeSync}: awaits `initHashing()` first, so it always runs on the fast keccak. */
export async function buildMerkleTree(commitments: readonly Hex32[] | Uint8Array): Promise<MerkleTree> {
  await initHashing();
  return buildMerkleTreeSync(commitments);
}

/**
 * The proof (siblings, leaf upwards) of the leaf at tree position `treeIndex`, read from a stored tree's
 * `nodes` (all 2n-1 nodes, 32 bytes each, OZ array layout: {@link MerkleTree.nodes}). The same hashes in the
 * same order as {@link MerkleTree.proof} of that leaf.
 */
export function proofFromNodes(nodes: Uint8Array, treeIndex: number): Hex32[] {
  const size = nodes.length / 32;
  if (!Number.isInteger(size) || size < 1 || size % 2 !== 1) {
    throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'tree nodes must be (2n-1)*32 bytes' });
  }
  // leaves are the last n = (size+1)/2 positions
  if (!Number.isInteger(treeIndex) || treeIndex < (size - 1) / 2 || treeIndex >= size) {
    throw new DomainError({
      code: 'MERKLE_INDEX_OUT_OF_RANGE',
      message: `no leaf at position ${treeIndex} in a tree of ${size} nodes`,
    });
  }
  const out: Hex32[] = [];
  for (let j = treeIndex; j > 0; j = (j - 1) >> 1) out.push(bytesToHex32(nodes, (j & 1 ? j + 1 : j - 1) * 32));
  return out;
}

/** OZ standard leaf hash of a `bytes32` commitment: keccak256(keccak256(commitment)). */
export function standardLeafHash(commitment: Hex32): Hex32 {
  assertHex32(commitment, 'commitment');
  return bytesToHex32(keccak256Bytes(keccak256Bytes(hex32ToBytes(commitment))));
}

/** Folds `path` onto `leaf` with sorted-pair keccak (OZ `MerkleProof.processProof`). Throws INVALID_HEX32. */
export function processProof(leaf: Hex32, path: readonly Hex32[]): Hex32 {
  assertHex32(leaf, 'leaf');
  if (!Array.isArray(path)) throw new DomainError({ code: 'INVALID_ARGUMENT', message: 'path must be an array' });
  const pair = new Uint8Array(64);
  let current = hex32ToBytes(leaf);
  path.forEach((p, i) => {
    assertHex32(p, `path[${i}]`);
    const sibling = hex32ToBytes(p);
    const [a, b] = compare32(current, 0, sibling, 0) <= 0 ? [current, sibling] : [sibling, current];
    pair.set(a, 0);
    pair.set(b, 32);
    current = keccak256Bytes(pair);
  });
  return bytesToHex32(current);
}

/** True iff `path` proves the leaf of `commitment` against `root`. Never throws: malformed input → false. */
export function verifyProof(root: Hex32, commitment: Hex32, path: readonly Hex32[]): boolean {
  try {
    if (typeof root !== 'string') return false;
    return processProof(standardLeafHash(commitment), path) === root.toLowerCase();
  } catch {
    return false;
  }
}
