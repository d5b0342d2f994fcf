// Slidev root setup (https://sli.dev/custom/config-vue): runs once in the deck's root component.
import { useNav } from '@slidev/client'
import { defineRootSetup } from '@slidev/types'
import { reactive } from 'vue'

export default defineRootSetup(() => {
  // The dev server exposes Slidev's context as window.__slidev__ (nav: current slide, clicks,
  // go()); a build does not. `npm start` serves the build, and the bench and the e2e tests drive
  // both the same way, so the build gets the same handle (its `nav` only).
  if (!import.meta.env.DEV && !(window as any).__slidev__)
    (window as any).__slidev__ = reactive({ nav: useNav() })
})
