/** Benchmarks switch every rate limit off (registry-api.md §10: a limit of 0 is off), as the issue says. */
export const NO_LIMITS: Record<string, string> = {
  LIMIT_CREATE_PER_MIN: "0",
  LIMIT_PUBLIC_PER_MIN: "0",
  LIMIT_JOIN_PER_MIN: "0",
  LIMIT_WRONG_JOIN_PER_ROOM_PER_MIN: "0",
  LIMIT_TOKEN_PER_MIN: "0",
  // No public STUN servers: benchmarks never send traffic off this machine.
  STUN_URLS: "",
};
