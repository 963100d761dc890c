import { defineConfig } from 'vitest/config';

// Two suites: `unit` needs only npm packages (npm test); `interop` needs Debian tools
// (dig, kdig, etcd, nsd) that .ci/run installs (npm run test:interop).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/interop/**'], testTimeout: 20000, hookTimeout: 20000 } },
      { test: { name: 'interop', include: ['test/interop/**/*.test.ts'], testTimeout: 60000, hookTimeout: 60000, fileParallelism: false } },
    ],
  },
});
