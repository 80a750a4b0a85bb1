import { GatehouseError } from './errors.ts';
import { serve } from './cli/serve.ts';

// Process entry for `npm start`: configuration from the environment, then the server; signals are handled in serve.
serve(process.env).catch((e: unknown) => {
  const message = e instanceof GatehouseError ? e.message : 'Gatehouse failed to start';
  process.stderr.write(`gatehouse: ${message}\n`);
  if (!(e instanceof GatehouseError)) process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
