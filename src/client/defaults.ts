/** Defaults of the client's optional policy (RegistryClientOptions). */
export const CLIENT_DEFAULTS = {
  roomPollIntervalMs: 1000,
  iceDrainMinMs: 1000,
  iceDrainMaxMs: 1500,
  backpressureThreshold: 256 * 1024,
  answerTimeoutMs: 60_000,
  disconnectGraceMs: 2000,
  /** A recovery not done this long after trouble was noticed ends the session. */
  reconnectWindowMs: 45_000,
  /** Cooldown after a restart that was answered but did not bring ICE back; doubles each time. */
  restartCooldownMs: 3000,
  /** onStats period; 0 = off. */
  statsIntervalMs: 2000,
  /** Session requests retry through an outage for the room's lifetime, at most this long. */
  outageMaxMs: 120_000,
  /** Long-poll hold of the guest's offer watch while recovering (a dead connection is found sooner). */
  recoveringHoldSec: 5,
  /** no_offer: at most this many re-posts of the answer, each after 250–2000 ms. */
  noOfferRetries: 4,
  /** Drain cycles kept after the DataChannel opened, for late candidates. */
  drainGraceCycles: 2,
  /** ICE restarts one recovery attempts (the server allows MAX_RESTARTS per room). */
  maxRestarts: 3,
  /** Bound for ICE to connect once both descriptions are set (one ICE restart at half of it). */
  connectTimeoutMs: 10_000,
  /** Longest wait for getStats() to name the route before onOpen goes out without it. */
  routeWaitMs: 500,
  /**
   * (ext `fast`) The first candidates of a burst wait this long for the rest: one post, one wake.
   * Chromium's host candidates come ~0.5-2 ms apart; a longer window delays the host's candidates
   * past the guest's answer on a nearby Registry (then the guest waits one more drain read).
   */
  coalesceMs: 5,
  /** Guest: wait for the expected reliable channel after one under another label arrived. */
  channelWaitMs: 2000,
} as const;
