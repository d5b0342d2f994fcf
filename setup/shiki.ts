// Code colours (https://sli.dev/custom/config-highlighter): GitHub's high-contrast themes. Every
// token colour of the light one, comments included, is above 4.5:1 (WCAG AA) on Slidev's code
// background (#f5f5f5); the default vitesse-light draws comments at 2.3:1, faint on a projector.
import { defineShikiSetup } from '@slidev/types'

export default defineShikiSetup(() => ({
  themes: {
    dark: 'github-dark-high-contrast',
    light: 'github-light-high-contrast',
  },
}))
