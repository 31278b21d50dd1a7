import { EMBEDDED_PG_PORT } from '../core/embedded-postgres.js';
import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { startMessenger } from '../messenger/server.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'messenger',
  summary: summaryOf('messenger'),
  options: {
    port: opt.port('HTTP port (also serves /metrics)', 8080),
    host: opt.string('address to bind', '0.0.0.0'),
    databaseUrl: opt.url('PostgreSQL URL; unset starts an embedded PostgreSQL', ['postgres:', 'postgresql:']),
    dataDir: opt.string('data directory of the embedded PostgreSQL', '.netlab/pg'),
    embeddedPort: { ...opt.port('port of the embedded PostgreSQL', EMBEDDED_PG_PORT), env: 'NETLAB_EMBEDDED_PG_PORT' },
    poolSize: opt.int('database connections per replica', 8, 1, 1000),
    maxBatch: opt.int('most messages written in one database call', 256, 1, 10_000),
    writeConcurrency: opt.int('group writes in flight at once per replica', 1, 1, 64),
  },
  async run(options, context) {
    await startMessenger(options, context);
    return undefined;
  },
});
