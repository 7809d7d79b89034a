// Mocha's globals as web-test-runner provides them (no @types/mocha in this project).
type MochaDone = (err?: unknown) => void;
type MochaFn = (this: { timeout(ms: number): void }, done: MochaDone) => void | Promise<unknown>;
declare function describe(name: string, fn: () => void): void;
declare function it(name: string, fn: MochaFn | (() => void | Promise<unknown>)): void;
declare function before(fn: () => void | Promise<unknown>): void;
declare function after(fn: () => void | Promise<unknown>): void;
declare function beforeEach(fn: () => void | Promise<unknown>): void;
declare function afterEach(fn: () => void | Promise<unknown>): void;
