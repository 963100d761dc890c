// Install step of the optional batched-UDP addon: build it with node-gyp. Any failure exits non-zero, which
// npm treats as "this optional dependency is unavailable": the install still succeeds and Beacon serves UDP
// through node:dgram. To check that fallback: BEACON_UDP_BATCH_BUILD=skip fails before building, and
// BEACON_UDP_BATCH_BUILD=broken-compiler runs node-gyp with CC=false (a real compile failure that spares the
// other packages, which a global CC=false would break too).
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

function fail(message) {
  console.error(`beacon-udp-batch: ${message}; Beacon will use node:dgram for UDP`);
  process.exit(1);
}

if (process.platform !== 'linux') fail(`recvmmsg/sendmmsg need Linux, this is ${process.platform}`);
if (process.env.BEACON_UDP_BATCH_BUILD === 'skip') fail('build skipped (BEACON_UDP_BATCH_BUILD=skip)');

/** node-gyp: the one npm runs scripts with, else an installed one, else the copy bundled with npm. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package: the other candidates remain
  }
  return candidates.find((c) => c && existsSync(c));
}

const gyp = findNodeGyp();
if (!gyp) fail('node-gyp not found');
const args = [gyp, 'rebuild'];
// Headers that ship with this node (official tarballs and distro packages both install include/node):
// building against them needs no download, so an offline install works.
const prefix = path.join(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const env = process.env.BEACON_UDP_BATCH_BUILD === 'broken-compiler' ? { ...process.env, CC: 'false', CXX: 'false' } : process.env;
const result = spawnSync(process.execPath, args, { cwd: __dirname, stdio: 'inherit', env });
if (result.status !== 0) fail(`build failed (node-gyp exit ${result.status ?? result.signal})`);
