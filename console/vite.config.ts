/**
 * Vite build of the operator console: `npm run build:console` writes console/dist, which src/console/serve.ts
 * serves at /console. Vite's config file must export a default.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    // Inlined assets would need a CSP exception; keep every asset a file.
    assetsInlineLimit: 0,
  },
  // `npx vite --config console/vite.config.ts` for live editing against `npm run dev` on :3000.
  server: { proxy: { '/v1': 'http://localhost:3000' } },
});
