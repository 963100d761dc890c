#!/bin/sh
# CI check: a failed build of the optional batched-UDP addon leaves `npm ci` green and Beacon serving UDP on
# node:dgram. Works on a temporary copy of the committed tree (HEAD) with its own node_modules.
# BEACON_UDP_BATCH_BUILD=broken-compiler (default) makes node-gyp compile with CC=false; =skip fails earlier.
set -eu
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$root" archive HEAD | tar -x -C "$tmp"
cd "$tmp"
BEACON_UDP_BATCH_BUILD="${BEACON_UDP_BATCH_BUILD:-broken-compiler}" npm ci --no-audit --no-fund
test ! -e native/udp-batch/build/Release/udp_batch.node || { echo "the addon was built: the failure was not forced" >&2; exit 1; }
npm run build --silent
node scripts/check-udp-fallback.mjs
