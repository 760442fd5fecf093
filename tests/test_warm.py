"""The warm interpreter (benchmark.warm): a stage command handed to it runs as a cold
`python -m` would (its directory, arguments, environment, streams, exit code and its own copy of
`benchmark`), and runs cold when no server answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.warm import stage_module

ROOT = Path(__file__).resolve().parents[1]
FAKE = '''import os, sys
import benchmark
print("cwd", os.getcwd())
print("argv", sys.argv[1:])
print("lane", os.environ.get("LANE"))
print("pkg", os.path.dirname(benchmark.__file__))
print("parent", os.getppid())
sys.stderr.write("to stderr\\n")
open("out.txt", "w").write(input())
raise SystemExit(int(sys.argv[1]))
'''


def _project(root: Path) -> Path:
    """A project with the real warm module and stage package, and one fake stage."""
    for rel in ("benchmark/__init__.py", "benchmark/warm.py", "benchmark/stages/__init__.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, root / rel)
    (root / "benchmark/stages/fake.py").write_text(FAKE)
    return root


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "INTERP_CLAIMS_WARM")}
    return {**env, **extra}


def _run(cwd: Path, code: int, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmark.stages.fake", str(code), "x y"], cwd=cwd, input="piped",
                          capture_output=True, text=True, env=_env(**env), timeout=60)


@pytest.fixture
def server(tmp_path):
    home = _project(tmp_path / "server")
    sock = tmp_path / "s.sock"
    proc = subprocess.Popen([sys.executable, "-m", "benchmark.warm", "serve", str(sock), "json"], cwd=home,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(200):
        if sock.exists() or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert sock.exists(), proc.stdout.read() if proc.poll() is not None else "no socket"
    yield proc, sock
    proc.kill()
    proc.wait()


def test_a_served_command_runs_as_its_cold_twin(tmp_path, server):
    proc, sock = server
    client = _project(tmp_path / "lane2")
    warm = _run(client, 3, LANE="2", INTERP_CLAIMS_WARM=str(sock))
    (client / "out.txt").rename(client / "warm.txt")
    cold = _run(client, 3, LANE="2")
    assert warm.returncode == cold.returncode == 3
    lines = {k: v for k, _, v in (ln.partition(" ") for ln in warm.stdout.splitlines())}
    assert lines["parent"] == str(proc.pid)                       # it ran in the server's child
    assert lines["cwd"] == str(client)                            # in the client's directory
    assert lines["pkg"] == str(client / "benchmark")              # with the client's own benchmark
    assert lines["argv"] == "['3', 'x y']" and lines["lane"] == "2"
    assert warm.stderr == cold.stderr == "to stderr\n"
    assert (client / "warm.txt").read_text() == (client / "out.txt").read_text() == "piped"
    cold_lines = dict(ln.partition(" ")[::2] for ln in cold.stdout.splitlines())
    assert cold_lines["parent"] != str(proc.pid)
    assert {k: v for k, v in lines.items() if k != "parent"} == {k: v for k, v in cold_lines.items() if k != "parent"}


def test_no_server_runs_cold(tmp_path):
    client = _project(tmp_path / "p")
    for env in ({"INTERP_CLAIMS_WARM": str(tmp_path / "absent.sock")}, {"INTERP_CLAIMS_WARM": "0"}, {}):
        out = _run(client, 0, **env)
        assert out.returncode == 0 and "cwd " + str(client) in out.stdout


@pytest.mark.parametrize("cmdline, module", [
    (["python", "-m", "benchmark.stages.train", "morcos"], "benchmark.stages.train"),
    (["python", "-m", "benchmark.warm", "serve", "s"], None),
    (["python", "-c", "import benchmark.stages"], None),
    (["python"], None),
])
def test_only_stage_commands_are_handed_over(cmdline, module):
    assert stage_module(cmdline) == module
