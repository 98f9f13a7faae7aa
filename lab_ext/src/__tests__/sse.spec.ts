import { EventStreamParser } from '../sse';

describe('EventStreamParser', () => {
  it('parses an event split across chunks', () => {
    const parser = new EventStreamParser();
    expect(parser.push('id: 7\nevent: gran')).toEqual([]);
    expect(parser.push('ted\ndata: {"id": 7}\n\n')).toEqual([
      { id: '7', event: 'granted', data: '{"id": 7}' }
    ]);
  });
  it('skips comments and keep-alives', () => {
    const parser = new EventStreamParser();
    expect(parser.push(': zslab lease events\n\n: keep-alive\n\n')).toEqual([]);
  });
  it('joins multi-line data', () => {
    const parser = new EventStreamParser();
    expect(parser.push('data: a\ndata: b\n\n')).toEqual([
      { id: null, event: 'message', data: 'a\nb' }
    ]);
  });
});
