#!/usr/bin/env bash
# Puts each seed mutant's bug back into a scratch copy of src/ and checks that its test fails.
# Usage: bash scripts/check-mutants.sh   (exit 0 when every mutant is caught)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
mutate() { # name, file, python-replacement (old, new), test name pattern
  local name=$1 file=$2 old=$3 new=$4 pattern=$5
  rm -rf "$work/copy" && mkdir -p "$work/copy"
  cp -r "$root/src" "$root/test" "$root/vitest.config.ts" "$root/package.json" "$work/copy/"
  ln -s "$root/node_modules" "$work/copy/node_modules"
  OLD=$old NEW=$new python3 - "$work/copy/$file" <<'PY'
import os, sys
p = sys.argv[1]; s = open(p).read(); old = os.environ['OLD']; new = os.environ['NEW']
if old not in s: sys.exit(f"pattern not found in {p}: {old!r}")
open(p, 'w').write(s.replace(old, new, 1))
PY
  if (cd "$work/copy" && npx vitest run --project unit test/registry/mutants.test.ts -t "$pattern" >/dev/null 2>&1); then
    echo "mutant $name SURVIVED"; status=1
  else
    echo "mutant $name caught"
  fi
}
mutate A src/registry/validate.ts "if (value <= 0) throw" "if (value < -1e12) throw" "A \\(boundary\\)"
# B: the seed's read-then-write split that inserts a fresh service entry over one another caller just created.
mutate B src/registry/registry.ts "    if (instances === undefined) {
      instances = new Map();" "    if (instances === undefined || instances.size % 2 === 1) {
      instances = new Map();" "B \\(safety\\)"
mutate C src/registry/registry.ts "      this.apply(mutation);
      if (mutation.type === 'deregister') removed += 1;" "      if (mutation.type !== 'deregister') this.apply(mutation);" "C \\(logic\\)"
mutate D src/balancer/strategies.ts "const chosen = successor ?? smallest;" "const chosen = successor ?? candidates[1 % Math.max(1, candidates.length)];" "D \\(edge\\)"
mutate E src/registry/registry.ts "if (options.healthyOnly && !this.isServable(record, now)) continue;" "if (options.healthyOnly && record.health === 'unhealthy' && options.strategy === undefined) continue;" "E \\(return\\)"
exit $status
