#!/usr/bin/env node
// `parley`: this shim exists before the build, so that `npm ci` links the command on a fresh clone
// (npm links a bin only if its file is there at install time); the command itself is dist/main.js.
try {
  await import('../dist/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/main.js')) throw err;
  console.error('parley: not built yet; run `npm run build` in the checkout first');
  process.exit(2);
}
