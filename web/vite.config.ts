// The web dashboard's build: web/ → web/dist, served by the dashboard at / (src/api/web-ui.ts).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // JSX compiles to Preact's automatic runtime (no Babel, no plugin). Vite 7: it works with npm 10 and 11,
  // where Vite 8 does not install with npm 10.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npx vite web` for UI work against a dashboard on the default port.
    proxy: { '/api': 'http://127.0.0.1:8070' },
  },
});
