// The part of Slidev's client API this deck uses, typed for `vue-tsc`.
// `@slidev/client` ships its TypeScript sources rather than declarations, so type-checking
// through it would check Slidev's own code under this project's stricter settings.
// tsconfig `paths` points the import here for the type checker only; Vite still bundles
// the real module.
declare module '@slidev/client' {
  import type { ComputedRef, Ref } from 'vue'
  import type { RenderContext } from '@slidev/types'

  /** The fields of a slide route this deck reads. */
  export interface DeckSlide { no: number, meta: { slide: { title?: string, frontmatter: Record<string, unknown> } } }

  /** Runs when the component's slide becomes the current one (also on mount if it is). */
  export function onSlideEnter(cb: (to: number, from: number | undefined) => unknown): void
  /** Runs when the component's slide stops being the current one. */
  export function onSlideLeave(cb: (to: number, from: number | undefined) => unknown): void
  export function useIsSlideActive(): ComputedRef<boolean>
  export function useSlideContext(): {
    $page: Ref<number>
    $renderContext: Ref<RenderContext>
    /** This slide's click counter (writable: moves Slidev's clicks and the URL's ?clicks=). */
    $clicks: Ref<number>
    /** This slide's clicks: `total` is how many it has. */
    $clicksContext: { readonly total: number }
  }
  export function useNav(): {
    isPrintMode: ComputedRef<boolean>
    isPresenter: ComputedRef<boolean>
    currentSlideNo: ComputedRef<number>
    total: ComputedRef<number>
    slides: ComputedRef<DeckSlide[]>
    currentLayout: ComputedRef<string>
    go: (no: number) => Promise<void>
  }
}
