// Types of docs-links.mjs, for test/docs-links.test.ts.
export declare function linkedFiles (): string[]
export declare function slug (heading: string): string
export declare function anchorsOf (markdown: string): Set<string>
export declare function linksOf (markdown: string): Array<{ line: number, target: string }>
export declare function checkLinks (files?: string[]): string[]
