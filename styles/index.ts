// Fonts ship with the deck (the theme's PT Serif and PT Mono, from @fontsource) so the talk
// renders the same offline; the headmatter sets `fonts.provider: none`.
import '@fontsource/pt-serif/400.css'
import '@fontsource/pt-serif/700.css'
import '@fontsource/pt-serif/400-italic.css'
import '@fontsource/pt-mono/400.css'
import './main.css'
import './presenter.css'
