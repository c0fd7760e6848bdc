import 'reflect-metadata';

/** Entry point of `npm start` and the `notary` command. */
async function main(argv: string[]): Promise<void> {
  const [cmd = 'start'] = argv;
  switch (cmd) {
    case 'start': {
      // Loaded lazily: the service stack (typeorm, fastify, …) is not needed by the other commands.
      const { startCommand } = await import('./start');
      await startCommand();
      return;
    }
    default: {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runCli } = require('./commands') as { runCli(argv: string[]): Promise<number> };
      process.exitCode = await runCli(argv);
    }
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(`notary: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`);
  process.exit(1);
});
