/**
 * The host's and the guest's form: its values, per-field validation (pure) and how typing or
 * pasting a share link changes them. The element keeps one `FormState` as reactive state.
 */
import { checkUserName, formatJoinCode, normalizeJoinCode, normalizeRoomCode } from "../../protocol/index.ts";
import { parseShare } from "../share.ts";

export type FieldKey = "code" | "join" | "name";
export type FormValues = Record<FieldKey, string>;
/** What is wrong with a field: the key of its message in the strings. */
export type FieldError = "badName" | "badRoomCode" | "badJoinCode";
export type FieldErrors = Partial<Record<FieldKey, FieldError>>;

export interface FormState {
  values: FormValues;
  errors: FieldErrors;
}

export const EMPTY_FORM: FormState = { values: { code: "", join: "", name: "" }, errors: {} };

/** What is wrong with one field, or undefined when it is fine. */
export function checkField(key: FieldKey, value: string): FieldError | undefined {
  const v = value.trim();
  if (key === "name") return checkUserName(v) ? "badName" : undefined;
  if (key === "code") return normalizeRoomCode(v) ? undefined : "badRoomCode";
  return normalizeJoinCode(v) ? undefined : "badJoinCode";
}

/** The field a Registry error is about (a wrong join code, no such room), if any. */
export function serverField(code: string | undefined): FieldKey | undefined {
  return code === "bad_join_code" ? "join" : code === "not_found" ? "code" : undefined;
}

/** Typing into `key`: a pasted share link fills both codes; a shown error is re-checked. */
export function applyInput(form: FormState, key: FieldKey, value: string): FormState {
  const values = { ...form.values, [key]: value };
  if (key !== "name" && value.includes("#")) {
    const f = parseShare(value);
    if (f.code) values.code = f.code;
    if (f.joinCode) values.join = formatJoinCode(f.joinCode);
  }
  const errors = form.errors[key] ? { ...form.errors, [key]: checkField(key, values[key]) } : form.errors;
  return { values, errors };
}

/** Leaving a non-empty field shows its validation message. */
export function applyBlur(form: FormState, key: FieldKey): FormState {
  const v = form.values[key];
  return v ? { ...form, errors: { ...form.errors, [key]: checkField(key, v) } } : form;
}

/** Checks `keys`; returns the new state and the first field in error (to focus), if any. */
export function validate(form: FormState, keys: readonly FieldKey[]): { form: FormState; bad: FieldKey | undefined } {
  const errors: FieldErrors = {};
  for (const k of keys) errors[k] = checkField(k, form.values[k]);
  return { form: { ...form, errors }, bad: keys.find((k) => errors[k]) };
}

/** The form's values from the element's codes, then the page's URL fragment, then what was typed. */
export function fillForm(values: FormValues, roomCode: string | undefined, joinCode: string | undefined, userName: string | undefined, hash: string): FormValues {
  const frag = parseShare(hash);
  const code = normalizeRoomCode(roomCode) ?? frag.code ?? values.code;
  const jc = normalizeJoinCode(joinCode) ?? frag.joinCode;
  return { code: code ?? "", join: jc ? formatJoinCode(jc) : values.join, name: values.name || userName || "" };
}
