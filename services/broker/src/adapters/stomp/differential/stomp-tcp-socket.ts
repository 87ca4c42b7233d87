import { connect, type Socket } from 'node:net';
import type { IStompSocket } from '@stomp/stompjs';

/**
 * @stomp/stompjs over plain TCP: the IStompSocket it would get from a WebSocket, on a net.Socket.
 * ActiveMQ 5.17 from Debian has no WebSocket transport, and the differential suite drives both
 * brokers the same way. stompjs parses a byte stream, so TCP chunks need no framing.
 */
export class StompTcpSocket implements IStompSocket {
  url: string;
  onclose: ((ev?: unknown) => unknown) | null = null;
  onerror: ((ev: unknown) => unknown) | null = null;
  onmessage: ((ev: { data: ArrayBuffer }) => unknown) | null = null;
  onopen: ((ev?: unknown) => unknown) | null = null;
  binaryType = 'arraybuffer';
  readyState = 0;
  readonly #socket: Socket;

  constructor(host: string, port: number) {
    this.url = `tcp://${host}:${port}`;
    this.#socket = connect({ host, port });
    this.#socket.on('connect', () => {
      this.readyState = 1;
      this.onopen?.();
    });
    this.#socket.on('data', (chunk: Buffer) => {
      const data = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength);
      this.onmessage?.({ data: data as ArrayBuffer });
    });
    this.#socket.on('error', (error) => this.onerror?.(error));
    this.#socket.on('close', () => {
      this.readyState = 3;
      this.onclose?.({ code: 1000, reason: '', wasClean: true });
    });
  }

  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (typeof data === 'string') this.#socket.write(data);
    else if (ArrayBuffer.isView(data))
      this.#socket.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    else this.#socket.write(Buffer.from(data as ArrayBuffer));
  }

  close(): void {
    this.readyState = 2;
    this.#socket.end();
  }

  terminate(): void {
    this.#socket.destroy();
  }
}
