/**
 * An incremental parser for `text/event-stream` bodies (the hub's `GET /events`), fed the
 * decoded text as it arrives. Comments (`: keep-alive`) are skipped.
 */

export interface ServerSentEvent {
  id: string | null;
  event: string;
  data: string;
}

export class EventStreamParser {
  /** Feed a chunk; returns the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    this._buffer += chunk;
    const events: ServerSentEvent[] = [];
    // Events end with a blank line; the last piece may be incomplete and waits.
    const blocks = this._buffer.split(/\r\n\r\n|\n\n|\r\r/);
    this._buffer = blocks.pop() ?? '';
    for (const block of blocks) {
      const event = parseBlock(block);
      if (event) {
        events.push(event);
      }
    }
    return events;
  }

  private _buffer = '';
}

function parseBlock(block: string): ServerSentEvent | null {
  let id: string | null = null;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === '' || line.startsWith(':')) {
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    if (field === 'id') {
      id = value;
    } else if (field === 'event') {
      event = value;
    } else if (field === 'data') {
      data.push(value);
    }
  }
  if (data.length === 0) {
    return null;
  }
  return { id, event, data: data.join('\n') };
}
