/* The page's one Socket.IO connection and a helper that sends an acknowledged event. */
import { ACK_TIMEOUT_MS, SESSION_ID } from "./page.js";

// The vendored client is a classic script that defines the global ``io``.
export const socket = window.io ? window.io({ transports: ["websocket", "polling"], tryAllTransports: true }) : null;

/** Emit ``event`` with this session's id; ``callback(err, reply)``: ``err`` is set when no reply came in time. */
export function send(event, payload, callback, timeoutMs = ACK_TIMEOUT_MS) {
  payload.session_id = SESSION_ID;
  socket.timeout(timeoutMs).emit(event, payload, (err, reply) => {
    if (callback) callback(err, reply);
  });
}
