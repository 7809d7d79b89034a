import { css } from "lit";

/**
 * Every colour and size comes from a `--registry-peer-*` custom property with an accessible
 * default (WCAG AA contrast on the default background), so pages theme the element without
 * ::part() for the common cases.
 */
export const styles = css`
  :host {
    display: block;
    font: var(--registry-peer-font, 1rem/1.4 system-ui, sans-serif);
    color: var(--registry-peer-color, #1b1f24);
    background: var(--registry-peer-background, #fff);
    border: var(--registry-peer-border, 1px solid #8c959f);
    border-radius: var(--registry-peer-radius, 8px);
    padding: var(--registry-peer-padding, 1rem);
    max-width: var(--registry-peer-max-width, 28rem);
    box-sizing: border-box;
  }
  :host([no-ui]),
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
  input {
    font: inherit;
    font-weight: 400;
    color: inherit;
    background: var(--registry-peer-input-background, #fff);
    border: 1px solid var(--registry-peer-input-border, #6e7781);
    border-radius: calc(var(--registry-peer-radius, 8px) / 2);
    padding: 0.4rem 0.5rem;
    min-width: 0;
  }
  input[aria-invalid="true"] {
    border-color: var(--registry-peer-error-color, #b3261e);
  }
  button {
    font: inherit;
    font-weight: 600;
    cursor: pointer;
    color: var(--registry-peer-accent-text, #fff);
    background: var(--registry-peer-accent, #0757c7);
    border: 0;
    border-radius: calc(var(--registry-peer-radius, 8px) / 2);
    padding: 0.45rem 0.9rem;
  }
  button.secondary {
    color: var(--registry-peer-accent, #0757c7);
    background: transparent;
    border: 1px solid currentColor;
  }
  button:disabled {
    cursor: default;
    opacity: 0.6;
  }
  :is(button, input, a):focus-visible {
    outline: 3px solid var(--registry-peer-focus, #0757c7);
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
  .field-error,
  .error {
    color: var(--registry-peer-error-color, #b3261e);
    font-weight: 400;
  }
  .status {
    color: var(--registry-peer-muted-color, #424a53);
  }
  progress {
    width: 100%;
    accent-color: var(--registry-peer-accent, #0757c7);
  }
  p {
    margin: 0;
  }
`;
