/**
 * A progress bar on stderr: redrawn in place on a terminal, one line per tenth of the work otherwise (so logs
 * stay readable).
 */
export class ProgressBar {
  private readonly started = Date.now();
  private lastDraw = 0;
  private lastTenth = -1;
  private readonly terminal = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly enabled = true,
  ) {}

  update(done: number, note = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!this.terminal) {
      const tenth = this.total === 0 ? 10 : Math.floor((10 * done) / this.total);
      if (tenth === this.lastTenth) return;
      this.lastTenth = tenth;
      process.stderr.write(`${this.label} ${done}/${this.total} ${note}\n`);
      return;
    }
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    const width = 30;
    const fraction = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const filled = Math.round(fraction * width);
    const rate = done / Math.max(0.001, (now - this.started) / 1000);
    process.stderr.write(
      `\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${this.total} ` +
        `${rate.toFixed(0)}/s ${note}`.padEnd(110),
    );
  }

  finish(note = ''): void {
    if (!this.enabled) return;
    this.update(this.total, note);
    if (this.terminal) process.stderr.write('\n');
  }
}
