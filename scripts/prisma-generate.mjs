// Runs `prisma generate` offline. Prisma's CLI wants a schema engine binary at start even though
// generate never uses it; pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips the download.
// Migrations are applied by netlab itself at startup (src/messenger/migrate.ts), never by the CLI.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
env.CHECKPOINT_DISABLE = '1';
execFileSync(process.execPath, [cli, 'generate', '--schema', 'prisma/schema.prisma'], { stdio: ['ignore', 'inherit', 'inherit'], env });
