// Slidev app setup (https://sli.dev/custom/config-vue): runs once when the deck starts, before its
// router navigates and drops the URL's query.
import { defineAppSetup } from '@slidev/types'
import { rememberDemoUrl } from '../composables/demo-url'

export default defineAppSetup(() => {
  // A deck opened at /1?demo=<url> and sent to a demo slide at once still talks to <url>.
  rememberDemoUrl()
})
