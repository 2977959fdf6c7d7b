"""Misbehaving PostgreSQL servers on 127.0.0.1, for testing that a client
neither hangs nor crashes.  Each listens on a free port in a thread:

  silent   accepts TCP connections and never sends a byte
  stall    answers the startup handshake (no SSL, no password), then never
           answers a query
  oneresult  answers the handshake, then answers every query with a single
           one-column row, whatever the query asked
  copy     answers the handshake, then answers a query with CopyInResponse
  garbage  refuses SSL, reads the startup packet, then answers with bytes
           that are not the protocol (an HTTP error)

Every accepted connection is recorded with what the client sent and whether
the client closed it (`closed`), so a test can check that an abandoned
connection was really closed."""
import socket
import struct
import threading
import time

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.received = b""
        self.closed = threading.Event()


class FakePg:
    def __init__(self, mode):
        self.mode = mode
        self.conns = []
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            c = Conn(s)
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _recv(self, c, n):
        data = b""
        while len(data) < n:
            chunk = c.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
            c.received += chunk
        return data

    def _startup(self, c):
        """Read the startup packets, refusing SSL and GSS encryption."""
        while True:
            n, = struct.unpack("!I", self._recv(c, 4))
            body = self._recv(c, n - 4)
            code, = struct.unpack("!I", body[:4])
            if code in (SSL_REQUEST, GSS_REQUEST):
                c.sock.sendall(b"N")
                continue
            return

    def _serve(self, c):
        try:
            if self.mode != "silent":
                self._startup(c)
                if self.mode == "garbage":
                    c.sock.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                elif self.mode == "stall":
                    c.sock.sendall(self._handshake())
                elif self.mode in ("oneresult", "copy"):
                    c.sock.sendall(self._handshake())
                    self._answer_queries(c)
            while True:
                chunk = c.sock.recv(4096)
                if not chunk:
                    break
                c.received += chunk
        except (EOFError, OSError):
            pass
        c.closed.set()

    @staticmethod
    def _msg(kind, payload):
        return kind + struct.pack("!I", len(payload) + 4) + payload

    def _handshake(self):
        out = self._msg(b"R", struct.pack("!I", 0))            # AuthenticationOk
        for k, v in (("server_version", "15.0"), ("client_encoding", "UTF8"),
                     ("standard_conforming_strings", "on"),
                     ("integer_datetimes", "on"), ("DateStyle", "ISO, MDY")):
            out += self._msg(b"S", k.encode() + b"\0" + v.encode() + b"\0")
        out += self._msg(b"K", struct.pack("!II", 4242, 1234))  # BackendKeyData
        out += self._msg(b"Z", b"I")                             # ReadyForQuery
        return out

    def _answer_queries(self, c):
        while True:
            kind = self._recv(c, 1)
            n, = struct.unpack("!I", self._recv(c, 4))
            self._recv(c, n - 4)
            if kind == b"X":
                return
            if kind != b"Q":
                continue
            if self.mode == "copy":
                c.sock.sendall(self._msg(b"G", struct.pack("!bh", 0, 0)))
                continue
            # RowDescription: one text column "x"
            field = b"x\0" + struct.pack("!IhIhih", 0, 0, 25, -1, -1, 0)
            out = self._msg(b"T", struct.pack("!h", 1) + field)
            out += self._msg(b"D", struct.pack("!hi", 1, 1) + b"1")
            out += self._msg(b"C", b"SELECT 1\0")
            out += self._msg(b"Z", b"I")
            c.sock.sendall(out)

    def wait_closed(self, timeout=10):
        """True when every connection accepted so far was closed by the
        client within TIMEOUT seconds."""
        deadline = time.time() + timeout
        with self.lock:
            conns = list(self.conns)
        return all(c.closed.wait(max(0, deadline - time.time())) for c in conns)

    def stop(self):
        self.stopping = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)   # wakes accept()
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.sock.close()
                except OSError:
                    pass
