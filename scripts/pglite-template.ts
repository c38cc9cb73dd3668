// `npm run dev:template`: writes dev/pglite-<version>.tar.br, a freshly initialised PGlite cluster
// for the installed PGlite, which dev mode loads instead of running initdb (src/db/pglite-template.ts).
// Run it after upgrading @electric-sql/pglite, delete the old file, commit the new one.
import { writeFileSync } from 'node:fs';
import { constants, brotliCompressSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { templatePath } from '../src/db/pglite-template.js';

const client = await PGlite.create();
const tar = Buffer.from(await (await client.dumpDataDir('none')).arrayBuffer());
await client.close();
// Brotli at its best: about 1.4 MB instead of 4.5 MB gzipped (mostly an empty WAL segment).
const compressed = brotliCompressSync(tar, {
  params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_SIZE_HINT]: tar.length },
});
writeFileSync(templatePath(), compressed);
console.log(`${templatePath()}: ${compressed.length} bytes`);
