// Plain-HTTP connections that read into one buffer of their own, reused for every read, instead of a fresh 64 KiB
// buffer per read (what a Node.js socket does by default). Each read is handed to the HTTP client as it is, and its
// parser copies the body bytes out before the next read can land (headers are copied too): nothing keeps a view of
// the buffer across reads. Receiving 200 MiB this way took ≈ 0.3 s of CPU against ≈ 0.6 s with the default reads
// (a fresh allocation, and a trip through the stream machinery, per 64 KiB; the body now comes in reads of up to
// READ_BUFFER). Pausing (backpressure) still stops the socket reading, idle timeouts still see every read.
// TLS sockets read their own way: an https: remote keeps Node's default agent.
import type { Agent, AgentOptions, ClientRequestArgs } from 'node:http';
import { connect, type NetConnectOpts, type Socket } from 'node:net';

/** Bytes one read may bring. */
export const READ_BUFFER = 1024 * 1024;

/** A connection whose reads land in one buffer and are emitted as 'data', each valid until the next read. */
export function connectReadingIntoOneBuffer(options: NetConnectOpts): Socket {
  const buffer = Buffer.allocUnsafeSlow(READ_BUFFER);
  const socket: Socket = connect({
    ...options,
    onread: {
      buffer,
      callback: (bytes: number, into: Uint8Array) => {
        socket.emit('data', Buffer.from(into.buffer, into.byteOffset, bytes));
        return true;
      },
    },
  });
  return socket;
}

/** node:http's Agent with these connections (keep-alive and the other options as given). */
export function readBufferAgent(http: Pick<typeof import('node:http'), 'Agent'>, options: AgentOptions): Agent {
  const agent = new http.Agent(options);
  agent.createConnection = (opts: ClientRequestArgs) => connectReadingIntoOneBuffer(opts as NetConnectOpts);
  return agent;
}
