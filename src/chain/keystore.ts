import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Wallet, decryptKeystoreJson, encryptKeystoreJson, getAddress, isAddress, isHexString } from 'ethers';
import { ChainError } from './errors';

/** One signing account of an organisation. */
export interface KeyInfo {
  address: string; // checksummed
  label: string;
}

/** Where the service gets its per-organisation signing keys. */
export interface Keystore {
  /** Generates a new key and stores it; returns its address. */
  create(label: string): Promise<KeyInfo>;
  /** The wallet of `address` (NOT connected to a provider: signing is offline). Throws if unknown. */
  load(address: string): Promise<Wallet>;
  list(): Promise<KeyInfo[]>;
}

/**
 * Dev/embedded default scrypt cost: N = 2^12 (~15 ms per decrypt) instead of ethers' 2^17 (~1 s and 128 MiB).
 * That is fine for a local demo chain, NOT for keys that hold value: production passes `scryptN` from
 * KEYSTORE_SCRYPT_N (e.g. 131072) — the config layer reads the environment, not this module.
 */
export const DEV_SCRYPT_N = 1 << 12;

export interface FileKeystoreOptions {
  /** scrypt N (power of two, 2^10..2^20); default {@link DEV_SCRYPT_N}. Only affects newly written files. */
  scryptN?: number;
}

/**
 * Encrypted JSON keystore (Web3 Secret Storage v3, as written by ethers `encryptKeystoreJson`), one file per account:
 * `<dir>/<lowercase address>.json`, mode 0600 in a 0700 directory. The label is stored as an extra `label` field,
 * which standard decoders ignore. Decrypted wallets are cached for the life of the object.
 */
export class FileKeystore implements Keystore {
  private readonly cache = new Map<string, Wallet>();
  private readonly scryptN: number;

  constructor(
    readonly dir: string,
    private readonly password: string,
    opts: FileKeystoreOptions = {},
  ) {
    this.scryptN = opts.scryptN ?? DEV_SCRYPT_N;
    if (!Number.isInteger(Math.log2(this.scryptN)) || this.scryptN < 1 << 10 || this.scryptN > 1 << 20) {
      throw new ChainError({ code: 'INVALID_ARGUMENT', message: `scryptN must be a power of two in 2^10..2^20` });
    }
  }

  async create(label: string): Promise<KeyInfo> {
    const wallet = Wallet.createRandom();
    return this.importKey(wallet.privateKey, label);
  }

  /** Stores an existing private key (e.g. a dev-chain account) under `label`. */
  async importKey(privateKey: string, label: string): Promise<KeyInfo> {
    const wallet = new Wallet(privateKey);
    const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, this.password, {
      scrypt: { N: this.scryptN },
    });
    const doc = { ...(JSON.parse(json) as Record<string, unknown>), label };
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.fileOf(wallet.address);
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(doc), { mode: 0o600, flag: 'wx' });
    await fs.chmod(tmp, 0o600); // in case the umask widened it
    await fs.rename(tmp, file);
    this.cache.set(wallet.address, wallet);
    return { address: wallet.address, label };
  }

  async load(address: string): Promise<Wallet> {
    const addr = checksum(address);
    const cached = this.cache.get(addr);
    if (cached) return cached;
    let json: string;
    try {
      json = await fs.readFile(this.fileOf(addr), 'utf8');
    } catch (err) {
      throw new ChainError({ code: 'INVALID_ARGUMENT', message: `no key for ${addr} in keystore`, cause: err });
    }
    let account;
    try {
      account = await decryptKeystoreJson(json, this.password);
    } catch (err) {
      throw new ChainError({
        code: 'INVALID_ARGUMENT',
        message: `cannot decrypt key ${addr} (wrong password?)`,
        cause: err,
      });
    }
    const wallet = new Wallet(account.privateKey);
    if (wallet.address !== addr) {
      throw new ChainError({ code: 'INVALID_ARGUMENT', message: `keystore file for ${addr} holds ${wallet.address}` });
    }
    this.cache.set(addr, wallet);
    return wallet;
  }

  async list(): Promise<KeyInfo[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const out: KeyInfo[] = [];
    for (const name of names.sort()) {
      const m = /^(0x[0-9a-f]{40})\.json$/.exec(name);
      if (!m?.[1]) continue;
      try {
        const doc = JSON.parse(await fs.readFile(path.join(this.dir, name), 'utf8')) as { label?: unknown };
        out.push({ address: getAddress(m[1]), label: typeof doc.label === 'string' ? doc.label : '' });
      } catch {
        /* unreadable file: skip, load() will report it */
      }
    }
    return out;
  }

  private fileOf(address: string): string {
    return path.join(this.dir, `${address.toLowerCase()}.json`);
  }
}

function checksum(address: string): string {
  if (!isAddress(address)) throw new ChainError({ code: 'INVALID_ARGUMENT', message: `not an address: ${address}` });
  return getAddress(address);
}

/**
 * In-memory keystore for tests: `fromPrivateKeys({ bank: '0x…', employer: '0x…' })` (label → private key).
 * `create` generates random keys kept in memory only.
 */
export function fromPrivateKeys(keys: Record<string, string> = {}): Keystore {
  const wallets = new Map<string, { wallet: Wallet; label: string }>();
  const add = (privateKey: string, label: string): KeyInfo => {
    if (!isHexString(privateKey, 32)) {
      throw new ChainError({ code: 'INVALID_ARGUMENT', message: `private key of ${label} must be 32-byte hex` });
    }
    const wallet = new Wallet(privateKey);
    wallets.set(wallet.address, { wallet, label });
    return { address: wallet.address, label };
  };
  for (const [label, pk] of Object.entries(keys)) add(pk, label);
  return {
    create: async (label) => add(Wallet.createRandom().privateKey, label),
    load: async (address) => {
      const entry = wallets.get(checksum(address));
      if (!entry) throw new ChainError({ code: 'INVALID_ARGUMENT', message: `no key for ${address} in keystore` });
      return entry.wallet;
    },
    list: async () => [...wallets.values()].map(({ wallet, label }) => ({ address: wallet.address, label })),
  };
}
