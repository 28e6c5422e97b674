/**
 * The delivery gate of one room: ordered, gapless, once-only delivery of its events to one
 * consumer. The gateway's relay has one per room for the node (`relay/room-hub.ts`), each socket
 * one per room it receives (`ws/connection.ts`), and the SDK one per room for the application
 * (`packages/client`). docs/architecture.md ("Ordered delivery") draws its states.
 *
 * - The cursor is the highest seq delivered. An event at or below it is skipped: each seq once.
 * - While a gap is being filled (a backfill, a replay, history paging), live events are held.
 *   What fills the gap is delivered through `fill`, past the hold; `release` then delivers what was
 *   held, in the order it came, skipping what the fill delivered already.
 * - A rewind (the Redis serving the room lost its newest events, whose seqs will be handed out
 *   again) moves the cursor back, and drops what was held above it: those events are gone too.
 */
export class DeliveryGate<T> {
  private held: Array<{ seq: number; item: T }> | null = null;

  constructor(
    /** The highest seq delivered (or known to the consumer already); 0 when none is known yet. */
    private seq: number,
    /** Delivers one event; called with seqs in increasing order, each once. */
    private readonly deliver: (seq: number, item: T) => void,
  ) {}

  get cursor(): number {
    return this.seq;
  }

  get holding(): boolean {
    return this.held !== null;
  }

  /**
   * The first seq held, if any (they arrive in order): past the next seq, it was published before
   * the live stream was in place, and the gap before it must be filled before `release`.
   */
  get firstHeld(): number | undefined {
    return this.held?.[0]?.seq;
  }

  /** How many events the hold keeps (a consumer may bound it). */
  get heldCount(): number {
    return this.held?.length ?? 0;
  }

  /** Whether `seq` skips past events not yet delivered: a gap, once the cursor is known. */
  skipsAhead(seq: number): boolean {
    return this.seq > 0 && seq > this.seq + 1;
  }

  /** Live events are held from now until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /** A live event: held while a gap is being filled, else delivered unless it was already. */
  offer(seq: number, item: T): void {
    if (this.held) this.held.push({ seq, item });
    else this.fill(seq, item);
  }

  /** An event that fills the gap: delivered unless it was already, whether or not events are held. */
  fill(seq: number, item: T): void {
    if (seq <= this.seq) return;
    this.seq = seq;
    this.deliver(seq, item);
  }

  /** The consumer has events up to `seq` by other means (it pages history, say): nothing is delivered. */
  skipTo(seq: number): void {
    this.seq = Math.max(this.seq, seq);
  }

  /** Ends the hold: what was held is delivered in order, without what the fill delivered. */
  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const { seq, item } of held) this.offer(seq, item);
  }

  /**
   * Events after `floor` may be gone and their seqs reused: the cursor goes back to `floor` and what
   * was held above it is dropped. Returns whether the cursor moved (the consumer is then told).
   */
  rewind(floor: number): boolean {
    if (this.seq <= floor) return false;
    this.seq = floor;
    if (this.held) this.held = this.held.filter((e) => e.seq <= floor);
    return true;
  }
}
