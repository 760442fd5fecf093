"""A warm interpreter for the stage commands: their libraries imported once per suite, not per stage.

Every DVC stage is a fresh `python -m benchmark.stages.<name>`, and before it computes anything it
imports torch, pandas, scipy, matplotlib and MLflow, and its first optimizer step imports
torch._dynamo: 3 to 7 CPU-s a stage, paid again by each pool worker that steps an optimizer, over
80 stages. `serve` imports those libraries once (never `benchmark`, never a torch op) and waits on
a unix socket; a stage command started with $INTERP_CLAIMS_WARM naming that socket hands its
argv, working directory, environment, sys.path and standard streams to the server
(`benchmark/stages/__init__.py` calls `delegate`), which forks a child that runs the stage module
as `python -m` would, with the client's streams, and sends back its exit code. The client stays
the process DVC waits on: it forwards SIGINT and SIGTERM, and a client that goes away takes its
child with it.

The child imports `benchmark` afresh from the client's sys.path (lane 2's copy of the project
runs its own code) and starts from the state a cold interpreter has after the same imports: the
server runs no torch op and draws no random number. Outputs are the same bytes (the suite's
fresh-clone run compares every dvc.lock hash). Without the variable, or when the socket does not
answer, the command runs cold as always.

    python -m benchmark.warm serve SOCKET [MODULE ...]   # .ci/suite starts it before `dvc repro`;
                                                         # MODULEs replace the libraries it imports
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import struct
import sys

ENV = "INTERP_CLAIMS_WARM"
STAGES = "benchmark.stages."
PRELOAD = ("numpy", "pandas", "scipy.stats", "scipy.special", "scipy.optimize", "scipy.linalg", "yaml", "pydantic",
           "PIL.Image", "torch", "torch.nn", "torch.nn.functional", "torch.func", "torch.optim", "torch._dynamo",
           "torch.utils.flop_counter", "safetensors.torch", "torchvision", "matplotlib", "matplotlib.pyplot",
           "matplotlib.patches", "matplotlib.colors", "statsmodels.api", "statsmodels.stats.power",
           "statsmodels.stats.multitest", "sklearn.datasets", "mnist1d.data", "threadpoolctl", "tqdm", "sqlalchemy",
           "mlflow", "mlflow.entities", "mlflow.tracking")
_HEADER = struct.Struct("!I")


def _send(sock: socket.socket, obj, fds: list[int] = ()) -> None:
    data = json.dumps(obj).encode()
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sock.sendmsg([_HEADER.pack(len(data)) + data], anc)


def _recv(sock: socket.socket, nfds: int = 0):
    """One message (and up to nfds passed file descriptors); None at end of stream."""
    head, anc, _, _ = sock.recvmsg(_HEADER.size, socket.CMSG_SPACE(nfds * 4) if nfds else 0)
    if len(head) < _HEADER.size:
        return (None, []) if nfds else None
    fds = array.array("i")
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    n, = _HEADER.unpack(head)
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            raise ConnectionError("warm: message cut short")
        body += chunk
    obj = json.loads(body)
    return (obj, list(fds)) if nfds else obj


def stage_module(cmdline: list[str]) -> str | None:
    """The module of `python -m benchmark.stages.<name> ...`, from the process's command line."""
    if len(cmdline) >= 3 and cmdline[1] == "-m" and cmdline[2].startswith(STAGES):
        return cmdline[2]
    return None


def _cmdline() -> list[str]:
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return [a.decode(errors="surrogateescape") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def delegate() -> None:
    """In a stage command: when $INTERP_CLAIMS_WARM names a serving socket, run this command in
    the server and exit with its code; otherwise return and run cold."""
    path = os.environ.get(ENV, "")
    module = stage_module(_cmdline()) if path not in ("", "0") else None
    if module is None:
        return
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return
    env = {k: v for k, v in os.environ.items() if k != ENV}
    _send(sock, {"module": module, "argv": sys.argv[1:],  # sys.argv is ["-m", *args] while -m imports the package
                 "cwd": os.getcwd(), "env": env, "path": sys.path}, [0, 1, 2])

    def forward(signum, _frame):
        try:
            _send(sock, {"signal": signum})
        except OSError:
            pass

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, forward)
    try:
        reply = _recv(sock)
    except (OSError, ValueError):
        reply = None
    code = reply.get("exit", 1) if isinstance(reply, dict) else 1
    if reply is None:
        print(f"warm: the stage's process ended without an exit code ({module})", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _watch(sock: socket.socket) -> None:
    """In a child: a signal the client forwards is raised here; the client's end of the socket
    closing (DVC killed it) ends the stage with SIGTERM."""
    while True:
        try:
            msg = _recv(sock)
        except (OSError, ValueError):
            msg = None
        if msg is None:
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if isinstance(msg, dict) and "signal" in msg:
            os.kill(os.getpid(), int(msg["signal"]))


def _run_child(conn: socket.socket) -> None:
    """The forked child: become the client's command, run it, report its exit code; never returns."""
    import atexit
    import runpy
    import threading
    import traceback

    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        req, fds = _recv(conn, 3)
        if req is None or len(fds) != 3:
            os._exit(1)
        for fd, target in zip(fds, (0, 1, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        sys.path[:] = req["path"]
        for name in [m for m in sys.modules if m == "benchmark" or m.startswith("benchmark.")]:
            del sys.modules[name]
        sys.argv = ["-m", *req["argv"]]
        threading.Thread(target=_watch, args=(conn,), daemon=True).start()
        try:
            runpy.run_module(req["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if e.code is not None and not isinstance(e.code, int):
                print(e.code, file=sys.stderr)
        except KeyboardInterrupt:
            traceback.print_exc()
            code = 130
        except BaseException:
            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        try:
            _send(conn, {"exit": code})
        except OSError:
            pass
        os._exit(code)


def serve(path: str, preload: tuple[str, ...] = PRELOAD) -> int:
    """Import the stage commands' libraries, then fork one child per connection until killed."""
    import importlib

    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # an optional library missing: its stages import it themselves
            pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}"
    server.bind(tmp)
    server.listen(16)
    os.replace(tmp, path)  # the socket appears only once the server is ready
    print(f"warm: serving stage commands on {path} (pid {os.getpid()})", flush=True)
    while True:
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            _run_child(conn)
        conn.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] != "serve":
        print("usage: python -m benchmark.warm serve SOCKET [MODULE ...]", file=sys.stderr)
        return 2
    return serve(argv[1], tuple(argv[2:]) or PRELOAD)


if __name__ == "__main__":
    raise SystemExit(main())
