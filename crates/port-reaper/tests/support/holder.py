"""A process that holds a port, for port-reaper's tests.

Prints one JSON line {"port": P, "pids": [...]} once everything is in
place, then sleeps until killed. Binds only loopback or wildcard addresses
with port 0 (or the --port given), never sends traffic.
"""
import argparse, json, os, signal, socket, sys, time

p = argparse.ArgumentParser()
p.add_argument("--addr", default="127.0.0.1")
p.add_argument("--port", type=int, default=0)
p.add_argument("--udp", action="store_true")
p.add_argument("--dual-stack", action="store_true", help="IPV6_V6ONLY=0 on an IPv6 socket")
p.add_argument("--reuseport", action="store_true")
p.add_argument("--ignore-term", action="store_true")
p.add_argument("--term-exits", action="store_true", help="handle TERM by exiting 0")
p.add_argument("--orphan", action="store_true", help="fork a child holding the socket, then exit")
p.add_argument("--child", action="store_true", help="fork a child that does not hold the socket")
p.add_argument("--supervisor", metavar="COMM", help="name ourselves COMM; a child holds the socket")
p.add_argument("--child-holds-as", metavar="COMM", help="a child named COMM holds the socket too")
p.add_argument("--backend", action="store_true", help="accept one connection into a forked child")
p.add_argument("--comm-hex", metavar="HEX", help="rename ourselves to these bytes (PR_SET_NAME)")
p.add_argument("--zombie-leader", action="store_true", help="main thread exits, another holds")
a = p.parse_args()

if a.comm_hex:
    import ctypes
    ctypes.CDLL(None).prctl(15, bytes.fromhex(a.comm_hex), 0, 0, 0)  # PR_SET_NAME

if a.ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if a.term_exits:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

family = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM if a.udp else socket.SOCK_STREAM)
if a.reuseport:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
if family == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if a.dual_stack else 1)
s.bind((a.addr, a.port))
if not a.udp:
    s.listen()
port = s.getsockname()[1]
pids = [os.getpid()]


def hold():
    while True:
        time.sleep(600)


def announce(extra=()):
    print(json.dumps({"port": port, "pids": pids + list(extra)}), flush=True)


if a.orphan:
    child = os.fork()
    if child == 0:
        hold()
    pids = [child]
    announce()
    sys.stdout.close()
    os._exit(0)

def fork_without_socket():
    """A child that has closed its copy of the socket before we go on."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        s.close()
        os.write(w, b"x")
        hold()
    os.read(r, 1)
    return child


if a.supervisor:
    import ctypes
    ctypes.CDLL(None).prctl(15, a.supervisor.encode(), 0, 0, 0)  # PR_SET_NAME
    child = os.fork()
    if child == 0:
        hold()
    s.close()
    pids = [child, os.getpid()]
    announce()
    hold()

if a.child_holds_as:
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        import ctypes
        ctypes.CDLL(None).prctl(15, a.child_holds_as.encode(), 0, 0, 0)  # PR_SET_NAME
        os.write(w, b"x")
        hold()
    os.read(r, 1)
    announce([child])
    hold()

if a.child:
    child = fork_without_socket()
    announce([child])
    hold()

if a.backend:
    # The client is a process of its own, as a browser would be.
    r, w = os.pipe()
    cpid = os.fork()
    if cpid == 0:
        s.close()
        client = socket.create_connection((a.addr, port))
        os.write(w, b"x")
        hold()
    os.read(r, 1)
    conn, _ = s.accept()
    # The backend keeps the accepted connection, not the listener.
    child = fork_without_socket()
    conn.close()
    print(json.dumps({"port": port, "pids": pids, "backend": child, "client": cpid}), flush=True)
    hold()

if a.zombie_leader:
    import ctypes, threading
    announce()
    threading.Thread(target=hold).start()
    ctypes.CDLL(None).pthread_exit(None)

announce()
hold()
