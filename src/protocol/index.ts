export * from "./limits.ts";
export * from "./errors.ts";
export * from "./codes.ts";
export * from "./validate.ts";
export * from "./ice.ts";
export * from "./fast.ts";
export * from "./wire.ts";
export * from "./control.ts";
