// Types of code-blocks.mjs, for test/package.test.ts.
export interface CodeBlock {
  /** The markdown file, relative to the repository. */
  file: string
  /** 1-based line of the block's first code line. */
  line: number
  code: string
  /** The reason of a <!-- no-check: reason --> mark. */
  skip: string | undefined
}
export interface CodeBlockCheck {
  blocks: CodeBlock[]
  skipped: CodeBlock[]
  /** tsc's diagnostics as `README.md:41 (ESM, column 7): error TS...`; empty when every block compiles. */
  errors: string[]
}
export declare const GLOBALS_FILE: string
export declare function documentationFiles (): string[]
export declare function extractCodeBlocks (markdown: string, file: string): CodeBlock[]
export declare function toCommonJs (code: string): string
export declare function writeCodeBlocks (appDir: string, blocks: CodeBlock[]): { folder: string, files: string[], origins: Map<string, { block: CodeBlock, kind: 'ESM' | 'CommonJS' }> }
export declare function checkCodeBlocks (appDir: string, files?: string[]): Promise<CodeBlockCheck>
