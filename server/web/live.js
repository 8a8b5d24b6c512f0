// A small graphql-transport-ws client: one websocket for every live subscription of
// the page, reconnected with backoff. Each subscription says where to resume (`after`)
// each time it is started again, so a reconnect misses nothing.
//
// States: "connecting" (first time), "live" (acknowledged), "reconnecting",
// "closed" (stopped, or the server refused the token: 4403).

const PROTOCOL = "graphql-transport-ws";
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

export class LiveConnection {
  constructor({ url, token, onState = () => {}, onRefused = () => {} }) {
    this.url = url;
    this.token = token;
    this.onState = onState;
    this.onRefused = onRefused;
    this.subscriptions = new Map();
    this.nextId = 1;
    this.failures = 0;
    this.state = "connecting";
    this.stopped = false;
    this.socket = null;
    this.acknowledged = false;
    this.timer = null;
    this.open();
  }

  // Starts `query`; `variables()` is asked again at each (re)start, so it can name the
  // last cursor seen. `next(data)` gets each result; `error(errors)` the errors that
  // ended it (an error message, or a result with errors and no data).
  subscribe(query, variables, { next, error = () => {} }) {
    const id = String(this.nextId++);
    const subscription = { id, query, variables, next, error };
    this.subscriptions.set(id, subscription);
    if (this.acknowledged) this.start(subscription);
    return () => this.unsubscribe(id);
  }

  unsubscribe(id) {
    if (!this.subscriptions.delete(id)) return;
    this.send({ id, type: "complete" });
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.subscriptions.clear();
    if (this.socket) this.socket.close(1000, "bye");
    this.setState("closed");
  }

  open() {
    const socket = new WebSocket(this.url, PROTOCOL);
    this.socket = socket;
    this.acknowledged = false;
    socket.onopen = () => {
      socket.send(
        JSON.stringify({
          type: "connection_init",
          payload: { Authorization: `Bearer ${this.token}` },
        }),
      );
    };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => this.closed(socket, event);
  }

  receive(message) {
    switch (message.type) {
      case "connection_ack":
        this.acknowledged = true;
        this.failures = 0;
        this.setState("live");
        for (const subscription of this.subscriptions.values()) this.start(subscription);
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next": {
        const subscription = this.subscriptions.get(message.id);
        if (!subscription) break;
        const { data, errors } = message.payload;
        // A stream that ends with an error (RESYNC_REQUIRED, FORBIDDEN) sends it as a
        // result without data, then completes.
        if (!data && errors && errors.length) {
          this.subscriptions.delete(message.id);
          subscription.error(errors);
        } else {
          subscription.next(data, errors);
        }
        break;
      }
      case "error": {
        const subscription = this.subscriptions.get(message.id);
        this.subscriptions.delete(message.id);
        if (subscription) subscription.error(message.payload);
        break;
      }
      case "complete":
        this.subscriptions.delete(message.id);
        break;
      default:
        break;
    }
  }

  start(subscription) {
    this.send({
      id: subscription.id,
      type: "subscribe",
      payload: { query: subscription.query, variables: subscription.variables() },
    });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  closed(socket, event) {
    if (socket !== this.socket || this.stopped) return;
    this.acknowledged = false;
    if (event.code === 4403 || event.code === 4401) {
      this.stopped = true;
      this.setState("closed");
      this.onRefused(event.code);
      return;
    }
    this.setState("reconnecting");
    const base = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    this.failures += 1;
    this.timer = setTimeout(() => this.open(), base / 2 + Math.random() * base);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }
}

export function liveUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/graphql`;
}
