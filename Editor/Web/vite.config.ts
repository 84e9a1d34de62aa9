import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The built app is served by `neuro serve` from the Editor's output folder (wwwroot/); relative asset
// paths keep it working whatever the page's path is.
export default defineConfig({
  base: "./",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
});
