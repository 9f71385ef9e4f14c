// The WebSocket /api/events: screen pops ({"type":"call"}), notes of the watched customer ({"type":"note"})
// and the greeting ({"type":"hello"}). Reconnects by itself when the socket drops (1 s, doubling to 15 s)
// and tells the server again which customer this console shows.

const listeners = new Map();   // type -> Set of callbacks
let socket = null;
let wanted = false;            // connect() called and not disconnect()ed
let watching = null;           // customer id this console shows, or null
let retryDelay = 1000;
let retryTimer = null;
let state = 'offline';         // offline | connecting | live | retrying
let checkSession = async () => true;

export function on(type, fn) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  listeners.get(type).add(fn);
  return () => listeners.get(type).delete(fn);
}

function emit(type, payload) {
  for (const fn of listeners.get(type) || []) {
    try {
      fn(payload);
    } catch (e) {
      console.error('event listener failed', e);
    }
  }
}

function setState(next) {
  state = next;
  emit('state', next);
}

export function connectionState() {
  return state;
}

// fn() → Promise<boolean>: is the session still valid? Asked before reconnecting.
export function setSessionCheck(fn) {
  checkSession = fn;
}

export function connect() {
  wanted = true;
  if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) return;
  clearTimeout(retryTimer);
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  let ws;
  try {
    ws = new WebSocket(`${scheme}://${location.host}/api/events`);
  } catch (e) {
    scheduleRetry();
    return;
  }
  socket = ws;
  setState('connecting');
  ws.addEventListener('open', () => {
    if (socket !== ws) return;
    retryDelay = 1000;
    setState('live');
    sendWatch();
  });
  ws.addEventListener('message', (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (message && typeof message.type === 'string') emit(message.type, message);
  });
  ws.addEventListener('close', () => {
    if (socket !== ws) return;
    socket = null;
    if (wanted) scheduleRetry();
    else setState('offline');
  });
  ws.addEventListener('error', () => { /* 'close' follows */ });
}

function scheduleRetry() {
  setState('retrying');
  clearTimeout(retryTimer);
  const delay = retryDelay;
  retryDelay = Math.min(retryDelay * 2, 15000);
  retryTimer = setTimeout(async () => {
    if (!wanted) return;
    let valid = true;
    try {
      valid = await checkSession();
    } catch (e) {
      valid = true;   // the server may be restarting: keep trying
    }
    if (wanted && valid) connect();
  }, delay);
}

export function disconnect() {
  wanted = false;
  clearTimeout(retryTimer);
  watching = null;
  if (socket) {
    const ws = socket;
    socket = null;
    ws.close(1000, 'logout');
  }
  setState('offline');
}

// Tells the server which customer this console shows (null: none).
export function watch(customerId) {
  watching = customerId === undefined ? null : customerId;
  sendWatch();
}

function sendWatch() {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({type: 'watch', customer_id: watching}));
  }
}
