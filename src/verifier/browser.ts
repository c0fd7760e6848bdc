// Entry of the auditor page's verifier bundle (built by src/api/verifier-bundle.ts with esbuild into one IIFE
// that defines `window.NotaryVerifier`). The page runs the same src/domain + src/verifier code as the service
// and the CLI: nothing here re-implements a check, it only adapts the verifier to a browser.
import { JsonRpcProvider } from 'ethers';
import { Settings } from 'typebox/system';
import { ChainRootSource } from './chain-root-source';
import { verifyReceipt, type Verdict } from './verifier';

export { checkReceiptLocally, verifyReceipt } from './verifier';
export { NOTARY_REGISTRY_READ_ABI } from './chain-root-source';
// UBL 2.1 invoices and credit notes as the auditor holds them: the page derives the payload (with the SHA-256 of the
// exact file bytes) the way the service did, so the digest check needs no server.
export { ublToPayload, UblError } from '../domain/ubl';

// The page's CSP has no 'unsafe-eval': TypeBox checks schemas by interpretation instead of generated code (it
// would fall back by itself, after a refused eval that the browser reports as a CSP violation). This bundle has
// its own TypeBox, so the setting reaches nothing else.
Settings.Set({ useAcceleration: false });

/**
 * The chain checks (anchor, organisation, submitter, timestamp) asked from this browser over `rpcUrl`, with the verifier's own
 * rules: the node must be on the receipt's chain, the registry (when `registry` is given) the service's one.
 * `receipt` must have passed the schema check. The caller bounds the time it waits.
 */
export async function verifyOnChain(
  receipt: { anchor: { chainId: number; registry: string } },
  rpcUrl: string,
  opts: { registry?: string } = {},
): Promise<{ chainId: number; verdict?: Verdict }> {
  const provider = new JsonRpcProvider(rpcUrl, receipt.anchor.chainId, { staticNetwork: true });
  try {
    const chainId = Number(await provider.send('eth_chainId', []));
    if (chainId !== receipt.anchor.chainId) return { chainId };
    const rootSource = new ChainRootSource({ provider });
    const trustedRegistries = opts.registry ? [opts.registry] : undefined;
    return { chainId, verdict: await verifyReceipt(receipt, { rootSource, trustedRegistries }) };
  } finally {
    provider.destroy();
  }
}
