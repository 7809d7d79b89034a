/**
 * The request log's default sink on Node (docs/protocol.md, Logging): the lines of one turn of
 * the event loop go to stdout in one write, not one synchronous write each (stdout to a file or
 * a pipe is synchronous on Linux, and a busy Registry logs thousands of lines a second). The
 * next turn writes them (setImmediate); `flush` writes what is pending at once (close, exit).
 */
export interface LineSink {
  log(line: string): void;
  flush(): void;
}

export function batchedLines(write: (chunk: string) => void): LineSink {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = `${pending.join("\n")}\n`;
    pending = [];
    write(chunk);
  };
  return {
    log(line) {
      pending.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}
