import type { ComputedRef, Ref } from 'vue'
import { useSlideContext } from '@slidev/client'
import { computed, ref, watch } from 'vue'
import { DEMO_URL } from './demo-url'

/** The slide the note was shown on, for this tab (sessionStorage): it says its piece there, and only there. */
const KEY = 'wire-patterns:static-note'
const storage = () => typeof window === 'undefined' ? undefined : window.sessionStorage
/** The slide the note belongs to (null: not shown yet), or 0 once the reader closed it. */
const shownOn = ref<number | null>(Number(storage()?.getItem(KEY) ?? Number.NaN) >= 0 ? Number(storage()!.getItem(KEY)) : null)

/**
 * For a demo frame, on a copy of the deck with no demo server configured (a static site): a small
 * note fixed at the top of the window says once, in plain words, that the demos play recorded
 * runs and how to run them live. "Once": on the first demo slide the reader opens in this tab (and
 * again when they come back to that slide), until they close it. `active` is the demo's slide being
 * on screen in the audience view. Call in setup.
 */
export function useStaticCopyNote(active: Ref<boolean>): { show: ComputedRef<boolean>, close: () => void } {
  const { $page } = useSlideContext()
  const page = $page.value
  if (DEMO_URL)
    return { show: computed(() => false), close: () => {} }
  watch(active, (on) => {
    if (on && shownOn.value === null) {
      shownOn.value = page
      storage()?.setItem(KEY, String(page))
    }
  }, { immediate: true })
  return {
    show: computed(() => active.value && shownOn.value === page),
    close: () => {
      shownOn.value = 0
      storage()?.setItem(KEY, '0')
    },
  }
}
