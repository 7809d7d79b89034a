import { css } from "lit";

/**
 * Every colour and size comes from a `--registry-peer-*` custom property with an accessible
 * default (WCAG AA contrast on the default background), so pages theme the element without
 * ::part() for the common cases. The defaults have a dark set for `prefers-color-scheme: dark`;
 * a page's own custom properties win in both. Buttons and inputs are at least 44 px tall
 * (touch targets).
 */
export const styles = css`
  :host {
    --_fg: var(--registry-peer-color, #1b1f24);
    --_bg: var(--registry-peer-background, #fff);
    --_border: var(--registry-peer-border, 1px solid #8c959f);
    --_accent: var(--registry-peer-accent, #0757c7);
    --_accent-text: var(--registry-peer-accent-text, #fff);
    --_focus: var(--registry-peer-focus, #0757c7);
    --_input-bg: var(--registry-peer-input-background, #fff);
    --_input-border: var(--registry-peer-input-border, #6e7781);
    --_error: var(--registry-peer-error-color, #b3261e);
    --_muted: var(--registry-peer-muted-color, #424a53);
    --_radius: var(--registry-peer-radius, 8px);
    display: block;
    font: var(--registry-peer-font, 1rem/1.4 system-ui, sans-serif);
    color: var(--_fg);
    background: var(--_bg);
    border: var(--_border);
    border-radius: var(--_radius);
    padding: var(--registry-peer-padding, 1rem);
    max-width: var(--registry-peer-max-width, 28rem);
    box-sizing: border-box;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --_fg: var(--registry-peer-color, #e6edf3);
      --_bg: var(--registry-peer-background, #161b22);
      --_border: var(--registry-peer-border, 1px solid #6e7681);
      --_accent: var(--registry-peer-accent, #58a6ff);
      --_accent-text: var(--registry-peer-accent-text, #0d1117);
      --_focus: var(--registry-peer-focus, #58a6ff);
      --_input-bg: var(--registry-peer-input-background, #0d1117);
      --_input-border: var(--registry-peer-input-border, #8b949e);
      --_error: var(--registry-peer-error-color, #ff7b72);
      --_muted: var(--registry-peer-muted-color, #9da7b3);
      color-scheme: dark;
    }
  }
  :host([no-ui]),
  :host([hidden]),
  [hidden] {
    display: none !important;
  }
  form,
  .panel {
    display: grid;
    gap: var(--registry-peer-gap, 0.75rem);
  }
  label {
    display: grid;
    gap: 0.25rem;
    font-weight: 600;
  }
  input,
  button {
    font: inherit;
    min-height: 44px;
    box-sizing: border-box;
    border-radius: calc(var(--_radius) / 2);
  }
  input {
    font-weight: 400;
    color: inherit;
    background: var(--_input-bg);
    border: 1px solid var(--_input-border);
    padding: 0.4rem 0.5rem;
    min-width: 0;
  }
  input[aria-invalid="true"] {
    border-color: var(--_error);
  }
  button {
    font-weight: 600;
    cursor: pointer;
    color: var(--_accent-text);
    background: var(--_accent);
    border: 0;
    padding: 0.45rem 0.9rem;
  }
  button.secondary {
    color: var(--_accent);
    background: transparent;
    border: 1px solid currentColor;
  }
  button:disabled {
    cursor: default;
    opacity: 0.6;
  }
  :is(button, input, a):focus-visible {
    outline: 3px solid var(--_focus);
    outline-offset: 2px;
  }
  .codes {
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 0.25rem 1rem;
    margin: 0;
  }
  .codes dd {
    margin: 0;
    font: var(--registry-peer-code-font, 600 1.25rem/1.2 ui-monospace, monospace);
    letter-spacing: 0.08em;
    overflow-wrap: anywhere;
  }
  .row {
    display: flex;
    gap: 0.5rem;
    align-items: center;
    flex-wrap: wrap;
  }
  .row input {
    flex: 1;
  }
  p {
    margin: 0;
  }
  .status {
    color: var(--_muted);
  }
  /* Focus rests here only while no control exists (see the element's updated()). */
  .status:focus {
    outline: none;
  }
  /* After .status: an error status is in the error colour. */
  .field-error,
  .error {
    color: var(--_error);
    font-weight: 400;
  }
  progress {
    width: 100%;
    accent-color: var(--_accent);
  }
`;
