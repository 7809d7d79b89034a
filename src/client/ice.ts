/**
 * ICE candidate bookkeeping (docs/protocol.md, Candidates): local validation, dedupe and cap before
 * publishing; set-difference of drained remote candidates; a queue for remote candidates
 * that arrive before the remote description is set. No I/O here.
 */
import { candidateKey, checkCandidate, normalizeCandidate, utf8Length, LIMITS } from "../protocol/index.ts";
import { CandidateTooLargeError, TooManyCandidatesError, type RegistryError } from "./errors.ts";
import type { CandidateBody } from "./types.ts";

/** The wire form of a browser candidate: only the three fields the Registry stores. */
export function toBody(c: { candidate: string; sdpMid?: string | null; sdpMLineIndex?: number | null }): CandidateBody {
  return { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
}

export type PublishVerdict = { ok: true; body: CandidateBody } | { ok: false; error?: RegistryError };

export class LocalCandidates {
  readonly keys = new Set<string>();
  #capReported = false;
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }

  /**
   * Decides whether a locally gathered candidate is published: oversize → error (never sent),
   * otherwise invalid (e.g. the empty end-of-candidates string) → silently skipped,
   * duplicate → skipped, over the cap → one TooManyCandidatesError.
   */
  admit(raw: CandidateBody): PublishVerdict {
    const c = normalizeCandidate(raw);
    if (typeof c.candidate === "string" && utf8Length(c.candidate) > LIMITS.candidateBytes) {
      return { ok: false, error: new CandidateTooLargeError(`ICE candidate exceeds ${LIMITS.candidateBytes} bytes`) };
    }
    if (checkCandidate(c) !== null) return { ok: false };
    const key = candidateKey(c);
    if (this.keys.has(key)) return { ok: false };
    if (this.keys.size >= this.#max) {
      if (this.#capReported) return { ok: false };
      this.#capReported = true;
      const err = new TooManyCandidatesError(`More than ${this.#max} local ICE candidates`);
      err.local = true;
      return { ok: false, error: err };
    }
    this.keys.add(key);
    return { ok: true, body: c };
  }

  /** Offer replaced / ICE restart: the server cleared our candidates, so may we. */
  reset(): void {
    this.keys.clear();
    this.#capReported = false;
  }
}

export class RemoteCandidates {
  readonly keys = new Set<string>();
  #queue: CandidateBody[] = [];
  #ready = false;

  /** Set-difference: the drained items not seen before (invalid ones dropped). */
  diff(items: unknown): CandidateBody[] {
    const out: CandidateBody[] = [];
    if (!Array.isArray(items)) return out;
    for (const raw of items) {
      if (checkCandidate(raw) !== null) continue;
      const c = toBody(raw as CandidateBody);
      const key = candidateKey(c);
      if (this.keys.has(key)) continue;
      this.keys.add(key);
      out.push(c);
    }
    return out;
  }

  /** Candidates to apply now; before the remote description they are held back. */
  take(fresh: CandidateBody[]): CandidateBody[] {
    if (this.#ready) return fresh;
    this.#queue.push(...fresh);
    return [];
  }

  /** The remote description is set: release the queue. */
  markReady(): CandidateBody[] {
    this.#ready = true;
    const q = this.#queue;
    this.#queue = [];
    return q;
  }

  /** ICE restart: new remote description coming, forget the old generation. */
  reset(): void {
    this.keys.clear();
    this.#queue = [];
    this.#ready = false;
  }
}

/** Marker for the remote end-of-candidates in the apply queue. */
export const END: CandidateBody = { candidate: "" };
