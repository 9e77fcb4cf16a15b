// Types of consumer-app.mjs, for test/package.test.ts.
export declare const root: string
export declare const tscPath: string
export interface ConsumerApp {
  /** The temporary folder (tarball and app). */
  dir: string
  /** The app, with the tarball, fastify and @types/node installed. */
  appDir: string
  tarball: string
  cleanup (): void
}
export declare function createConsumerApp (options?: { packages?: string[] }): ConsumerApp
export declare const consumerCompilerOptions: Readonly<Record<string, unknown>>
export declare function typeCheck (appDir: string, files: string[], options?: { tsconfig?: string, compilerOptions?: Record<string, unknown> }): Promise<string>
