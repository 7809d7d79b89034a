/**
 * Benchmarks switch every rate limit off (registry-api.md §10: a limit of 0 is off), as the
 * issue says, and the per-IP ceilings with them: one load generator on one loopback address
 * stands for many clients. The code paths still run (a ceiling of 0 is counted, not skipped).
 */
export const NO_LIMITS: Record<string, string> = {
  LIMIT_WRONG_JOIN_PER_SOURCE_PER_MIN: "0",
  LIMIT_PROBE_PER_MIN: "0",
  MAX_CONNECTIONS_PER_IP: "0",
  MAX_LONGPOLLS_PER_IP: "0",
  LIMIT_CREATE_PER_MIN: "0",
  LIMIT_PUBLIC_PER_MIN: "0",
  LIMIT_JOIN_PER_MIN: "0",
  LIMIT_WRONG_JOIN_PER_ROOM_PER_MIN: "0",
  LIMIT_TOKEN_PER_MIN: "0",
  // No public STUN servers: benchmarks never send traffic off this machine.
  STUN_URLS: "",
};
