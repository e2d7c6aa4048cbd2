import cliProgress from 'cli-progress';

/** A progress bar on a terminal; nothing when stderr is a pipe or a file. */
export interface Progress {
  update(fraction: number): void;
  stop(): void;
}

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {duration_formatted}`, stream, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1000, 0);
  return {
    update: (fraction) => bar.update(Math.round(fraction * 1000)),
    stop: () => bar.stop(),
  };
}
