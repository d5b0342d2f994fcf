import { createNodeResolver, importX } from 'eslint-plugin-import-x'
import pluginVue from 'eslint-plugin-vue'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.slidev/**', 'test-results/**', 'bench/results/**', '.cache/**'] }, // .cache/deck: the deck npm start builds
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    rules: {
      // Tests and the deck poke at Slidev's window.__slidev__, which has no public type.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
  {
    // No import loops: a reader follows a pattern one way, page -> component -> demos -> test.
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // The deck runs in the browser and talks to the demo server over HTTP only: what both sides
    // share (wire types, the clock, the SSE format) lives in wire/.
    files: ['components/**', 'composables/**', 'setup/**', '*.vue'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/demos/**', '**/demos'], message: 'The deck never imports the demo server: put what both sides share in wire/.' }] }] },
  },
  {
    // wire/ is the protocol both sides share: plain TypeScript, importing nothing but itself.
    files: ['wire/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./)', message: 'wire/ imports only wire/ files: no Node, browser, Vue or server modules.' }] }] },
  },
  {
    // wire/predictions/ (the predictions, one file per chapter) may also read the wire/ files one level up, and nothing else.
    files: ['wire/predictions/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^(?!\\./|\\.\\./(?!\\.\\.))', message: 'wire/ imports only wire/ files: no Node, browser, Vue or server modules.' }] }] },
  },
  {
    // Tools are not tests: bench/, scripts/ and tools/ (what they share with the tests) import
    // nothing from test/. The paths are resolved, so any spelling of an import into test/ counts.
    files: ['bench/**/*.ts', 'scripts/**/*.ts', 'tools/**/*.ts'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', {
        zones: [{ target: ['./bench', './scripts', './tools'], from: './test', message: 'test/ is for tests: move what a tool needs to tools/.' }],
      }],
    },
  },
  {
    // Small pieces with one name each: no deck function longer than a screen (blank lines and comments not counted).
    files: ['components/**/*.ts', 'components/**/*.vue', 'composables/**/*.ts', 'setup/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  {
    // The platform (demos/platform/, and the job store and API in demos/jobs/) is what every chapter
    // stands on; it imports no chapter, so adding a chapter never means editing it. Only
    // demos/app.ts (the composition root) and demos/main.ts know the chapters.
    files: ['demos/platform/**', 'demos/jobs/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(?!platform/|jobs/|\\.\\./wire/)', message: 'The platform imports no chapter: only demos/platform/, demos/jobs/ and wire/ (a chapter exposes shared state through chapterState, demos/platform/context.ts).' }] }] },
  },
  {
    // Small pieces: a route file fits on a slide, its machinery lives in a sibling file
    // (demos/jobs/long-poll.ts, demos/pubsub/bridge.ts, ...). No demo-server function over 80 lines.
    files: ['demos/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80 }] },
  },
  {
    // The same for the tools: no bench, script, tool or wire function over 80 lines.
    files: ['bench/**/*.ts', 'scripts/**/*.ts', 'tools/**/*.ts', 'wire/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80 }] },
  },
)
