import random
import socket
import time

# Ports for test listeners come from below the kernel's ephemeral range (32768-60999 here): a port the kernel
# handed out (port 0) is the kind it also gives outgoing connections, so a listener started a few seconds
# later could find it taken by some pooled client connection and never come up. Random within the range so
# parallel pytest workers rarely pick the same one; bound once to check it is free now.
LISTEN_PORTS = range(20000, 32000)


def free_port() -> int:
    for _ in range(200):
        port = random.choice(LISTEN_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {LISTEN_PORTS}")


def wait_for_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")
