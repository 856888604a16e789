import { resolve } from 'node:path'
import { defineConfig } from 'vite'

export default defineConfig({
  // wasm-bindgen packages load their .wasm relative to their own module: keep them out of
  // Vite's dependency pre-bundling (as Vite's docs advise for such packages).
  optimizeDeps: { exclude: ['rendez'] },
  build: {
    rollupOptions: {
      input: { main: resolve(import.meta.dirname, 'index.html'), react: resolve(import.meta.dirname, 'react.html') }
    }
  }
})
