import { useSlideContext } from '@slidev/client'
import { onBeforeUnmount, reactive } from 'vue'
import { DEMO_URL } from './demo-url'

/** The slides (by number) showing a demo frame, in a copy of the deck with no demo server; a slide's count of frames. */
const framed = reactive(new Map<number, number>())

/**
 * For a demo frame: on a copy of the deck with no demo server configured (a static site, its
 * PDF), `here()` is true on the deck's first demo slide only, where the frame says once, in plain
 * words, that every demo plays a recording and how to run them live. Slidev mounts every slide
 * soon after the deck opens, so the first demo slide is known by then. Call in setup.
 */
export function useStaticCopyNote(): { here: () => boolean } {
  const { $page } = useSlideContext()
  const page = $page.value
  if (DEMO_URL)
    return { here: () => false }
  framed.set(page, (framed.get(page) ?? 0) + 1)
  onBeforeUnmount(() => {
    const n = (framed.get(page) ?? 1) - 1
    if (n > 0)
      framed.set(page, n)
    else
      framed.delete(page)
  })
  return { here: () => page === Math.min(...framed.keys()) }
}
