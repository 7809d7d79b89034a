/** Defaults of the client's optional policy (RegistryClientOptions). */
export const CLIENT_DEFAULTS = {
  roomPollIntervalMs: 1000,
  iceDrainMinMs: 1000,
  iceDrainMaxMs: 1500,
  backpressureThreshold: 256 * 1024,
  answerTimeoutMs: 60_000,
  disconnectGraceMs: 5000,
  /** no_offer: at most this many re-posts of the answer, each after 250–2000 ms. */
  noOfferRetries: 4,
  /** Drain cycles kept after the DataChannel opened, for late candidates. */
  drainGraceCycles: 2,
  /** ICE restarts one session attempts (the server allows MAX_RESTARTS per room). */
  maxRestarts: 3,
  /** Guest: extra wait for the host's restart offer after the disconnect grace. */
  restartWaitMs: 15_000,
  /** (ext `fast`) The first candidates of a burst wait this long for the rest: one post, one wake. */
  coalesceMs: 20,
  /** Guest: wait for the expected reliable channel after one under another label arrived. */
  channelWaitMs: 2000,
} as const;
