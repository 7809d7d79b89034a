/** `code` with the static parts of every html`…`/css`…` template collapsed (see the .mjs). */
export function minifyTemplates(code: string, fileName?: string): string;
