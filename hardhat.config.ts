import { subtask } from 'hardhat/config';
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, TASK_NODE_SERVER_CREATED } from 'hardhat/builtin-tasks/task-names';
import type { HardhatUserConfig } from 'hardhat/config';
import type { NetworkUserConfig } from 'hardhat/types';
import '@nomicfoundation/hardhat-toolbox';

/** Must equal the exact version of the npm package `solc` (checked below). */
const SOLC_VERSION = '0.8.28';

// Hardhat 2 downloads solc from the internet; this machine has none. Hand it the solcjs (wasm) build
// shipped in the npm package "solc" instead, and refuse any other version loudly.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD).setAction(async (args: { solcVersion: string }) => {
  if (args.solcVersion !== SOLC_VERSION) {
    throw new Error(
      `solc ${args.solcVersion} requested, but only ${SOLC_VERSION} (npm package solc) is available offline`,
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require('solc') as { version(): string };
  const long = solc.version(); // "0.8.28+commit.7893614a.Emscripten.clang"
  if (!long.startsWith(`${SOLC_VERSION}+`)) throw new Error(`npm solc is ${long}, config expects ${SOLC_VERSION}`);
  return {
    compilerPath: require.resolve('solc/soljson.js'),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: long.replace(/\.Emscripten\.clang$/, ''),
  };
});

// `npx hardhat node` also mines an (empty) block every NODE_BLOCK_TIME seconds (default 1; 0: only on each
// transaction). A real chain keeps producing blocks; without them an anchored batch on an otherwise idle node never
// reaches its CONFIRMATIONS, and the organisation's next batch waits behind it. Only the node task: the in-process
// network of the tests keeps plain automine.
subtask(TASK_NODE_SERVER_CREATED).setAction(
  async (
    args: { provider: { request(a: { method: string; params: unknown[] }): Promise<unknown> } },
    _hre,
    runSuper,
  ) => {
    const raw = process.env.NODE_BLOCK_TIME ?? '1';
    if (!/^\d+(\.\d+)?$/.test(raw)) throw new Error(`NODE_BLOCK_TIME must be a number of seconds, got "${raw}"`);
    const ms = Math.round(Number(raw) * 1000);
    if (ms > 0) await args.provider.request({ method: 'evm_setIntervalMining', params: [ms] });
    await runSuper(args);
  },
);

/** Environment read once: a permissioned chain given by RPC_URL (+ DEPLOYER_KEY), gas price may be zero. */
const env = {
  rpcUrl: process.env.RPC_URL,
  deployerKey: process.env.DEPLOYER_KEY,
  gasPrice: process.env.GAS_PRICE,
  reportGas: process.env.REPORT_GAS === 'true',
  /** ZERO_GAS=1: the built-in network (and so `npx hardhat node`) charges no gas, like a Besu/Quorum consortium chain. */
  zeroGas: process.env.ZERO_GAS === '1' || process.env.ZERO_GAS === 'true',
};

const networks: Record<string, NetworkUserConfig> = {
  // Base fee 0 from the genesis block and a zero gas price for its own accounts: eth_gasPrice answers 0, and an
  // account without ether can send (the notary service then signs legacy transactions at gas price 0).
  ...(env.zeroGas ? { hardhat: { gasPrice: 0, initialBaseFeePerGas: 0 } } : {}),
  localhost: { url: 'http://127.0.0.1:8545' },
  anvil: { url: 'http://127.0.0.1:8546' },
};
if (env.rpcUrl) {
  networks.permissioned = {
    url: env.rpcUrl,
    accounts: env.deployerKey ? [env.deployerKey] : 'remote',
    // Besu/Quorum consortium chains commonly run with a zero gas price.
    gasPrice: env.gasPrice !== undefined ? Number(env.gasPrice) : 'auto',
  };
}

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun' },
  },
  networks,
  gasReporter: { enabled: env.reportGas, offline: true, currency: 'USD' },
  typechain: { outDir: 'typechain-types', target: 'ethers-v6' },
  paths: { tests: 'test/contracts' },
  mocha: { timeout: 120_000 },
};

export default config;
