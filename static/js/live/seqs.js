/* The seq up to which this page has every note of the session: what it rejoins "after".
 *
 * Not the highest seq seen: notes can arrive out of order (two server processes, or two greenlets of one,
 * send seq 6 before seq 5), and a process can die after storing a note and before sending it. A page that
 * rejoined after the highest seq would never ask for seq 5 again. Same rule as SeqWatermark in
 * roundtable/live_clients.py.
 */
export class Seqs {
  constructor() {
    this.complete = 0;      // every note with seq <= complete is here
    this.ahead = new Set(); // seqs held above it
  }

  /** Record a note's seq. */
  add(seq) {
    if (!seq || seq <= this.complete) return;
    this.ahead.add(seq);
    this.advance();
  }

  /** After a join or since reply: the server had no other note up to its last_seq (read before the notes). */
  caughtUpTo(lastSeq) {
    if (lastSeq <= this.complete) return;
    this.ahead.forEach((s) => { if (s <= lastSeq) this.ahead.delete(s); });
    this.complete = lastSeq;
    this.advance();
  }

  /** The highest seq held above a missing one, or 0 when nothing is missing. */
  get holeBelow() { return this.ahead.size ? Math.max(...this.ahead) : 0; }

  advance() {
    while (this.ahead.has(this.complete + 1)) { this.complete += 1; this.ahead.delete(this.complete); }
  }
}
