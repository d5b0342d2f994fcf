/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Base URL of the demo server the deck talks to. Default `http://127.0.0.1:3031`. */
  readonly VITE_DEMO_URL?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}

interface Window {
  /** The demo server's URL as the server that serves the deck says it at run time (`/demo-url.js`; `npm start` sets it). */
  __DEMO_URL__?: string
}
