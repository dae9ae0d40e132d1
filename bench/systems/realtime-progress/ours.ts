/**
 * Our package as the bench runs it: the bundle the driver built of `src/` (see
 * `bench/lib/build.ts`), or `src/` itself through tsx when the driver was given `--from-source`.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUILD_DIR_ENV } from '../../lib/build.js';

type ServerModule = typeof import('../../../src/server/index.js');
type ClientModule = typeof import('../../../src/client/index.js');
type SqlModule = typeof import('../../../src/adapters/storage/sql/index.js');

const built = (name: string): string | undefined => {
  const dir = process.env[BUILD_DIR_ENV];
  return dir === undefined || dir === '' ? undefined : pathToFileURL(join(dir, `${name}.js`)).href;
};

export const loadServer = (): Promise<ServerModule> => {
  const url = built('server');
  return url === undefined ? import('../../../src/server/index.js') : import(url);
};

export const loadClient = (): Promise<ClientModule> => {
  const url = built('client');
  return url === undefined ? import('../../../src/client/index.js') : import(url);
};

export const loadSql = (): Promise<SqlModule> => {
  const url = built('sql');
  return url === undefined ? import('../../../src/adapters/storage/sql/index.js') : import(url);
};
