"""Starts and stops the two SFUs of bench/voice on loopback, each in its own temp dir:
hype (`hype serve`, voice.mode=sfu, SQLite) and Janus 1.1.2 (videoroom plugin only, HTTP
transport only, ICE-lite, its own config written here). Both can be pinned to a core with
taskset. Processes are stopped by PID, never by name."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus"


NICE = 0  # bench/voice --nice: servers and bots alike


def _taskset(cpu):
    pre = ["nice", "-n", str(NICE)] if NICE else []
    return pre + (["taskset", "-c", str(cpu)] if cpu is not None else [])


def proc_cpu_seconds(pid):
    """utime + stime of a process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def proc_runqueue_wait_seconds(pid, name_prefix=None):
    """Time the process's threads (those whose name starts with name_prefix, when given)
    spent runnable but not running (schedstat): how much other load, the machine's or the
    process's own other threads, stood in the way."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            if name_prefix is not None:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if not f.read().startswith(name_prefix):
                        continue
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
        except OSError:
            pass
    return total / 1e9


def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _wait_http(url, timeout, proc):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


class Server:
    kind = ""

    def __init__(self):
        self.proc = None
        self.dir = None

    @property
    def pid(self):
        return self.proc.pid

    def cpu_seconds(self):
        return proc_cpu_seconds(self.proc.pid)

    def runqueue_wait_seconds(self, name_prefix=None):
        return proc_runqueue_wait_seconds(self.proc.pid, name_prefix)

    def peak_rss_mb(self):
        return proc_status_kb(self.proc.pid, "VmHWM") / 1024.0

    def threads(self):
        return proc_status_kb(self.proc.pid, "Threads")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if getattr(self, "quota", None):
            self.quota.release()
            self.quota = None

    def limit_cpu(self, percent):
        """Limits the server to `percent` % of one core (CpuQuota)."""
        self.quota = CpuQuota(self.proc.pid, percent)


class CpuQuota:
    """A CPU bandwidth limit for one process (all its threads): a cgroup with a quota of
    `percent` % of one core per 10 ms period (short, so a throttled server pauses at most a
    few ms). Capacity then shows at a fraction of the load one core needs, which the bots on
    the other core can generate: forwarded packets/s at saturation / (percent / 100) is the
    packets/s per core, measured. cgroup v1 (cpu controller) or v2 (cpu.max); needs root."""

    PERIOD_US = 10000

    def __init__(self, pid, percent):
        quota = int(self.PERIOD_US * percent / 100)
        name = f"hype-voicebench-{pid}"
        v1 = "/sys/fs/cgroup/cpu"
        if os.path.isdir(v1) and os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
            self.dir = os.path.join(v1, name)
            os.makedirs(self.dir, exist_ok=True)
            self._write("cpu.cfs_period_us", self.PERIOD_US)
            self._write("cpu.cfs_quota_us", quota)
        else:
            self.dir = os.path.join("/sys/fs/cgroup", name)
            os.makedirs(self.dir, exist_ok=True)
            self._write("cpu.max", f"{quota} {self.PERIOD_US}")
        self._write("cgroup.procs", pid)

    def _write(self, f, v):
        with open(os.path.join(self.dir, f), "w") as fh:
            fh.write(str(v))

    def release(self):
        try:
            os.rmdir(self.dir)  # the process has exited: the group is empty
        except OSError:
            pass


class HypeServer(Server):
    kind = "hype"

    def __init__(self, binary, http_port, udp_port, cpu=None, workers=1, extra_env=None):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="hype-voicebench-")
        env = dict(os.environ)
        env.update({
            "HYPE_SERVER_HOST": "127.0.0.1",
            "HYPE_SERVER_PORT": str(http_port),
            "HYPE_SERVER_DATA_DIR": self.dir,
            "HYPE_LIMITS_ENABLED": "false",
            "HYPE_AUTH_ARGON2_MEM_KIB": "8192",
            "HYPE_AUTH_ARGON2_OPS": "1",
            "HYPE_LOG_LEVEL": "warn",
            "HYPE_VOICE_MODE": "sfu",
            "HYPE_SFU_WORKERS": str(workers),
            "HYPE_SFU_PORT": str(udp_port),
            "HYPE_SFU_BIND_IP": "127.0.0.1",
            "HYPE_SFU_ANNOUNCED_IP": "127.0.0.1",
        })
        env.update(extra_env or {})
        self.log = open(os.path.join(self.dir, "hype.log"), "w")
        self.proc = subprocess.Popen(_taskset(cpu) + [binary, "serve"], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{http_port}"
        _wait_http(self.url + "/readyz", 30, self.proc)

    def bot_args(self):
        return ["--target", "hype", "--server", self.url]


class JanusServer(Server):
    kind = "janus"

    def __init__(self, http_port, rtp_ports, cpu=None, event_loops=0):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="janus-voicebench-")
        d = self.dir
        plugins = [p for p in os.listdir(f"{JANUS_LIB}/plugins")
                   if p.endswith(".so") and p != "libjanus_videoroom.so"]
        transports = [p for p in os.listdir(f"{JANUS_LIB}/transports")
                      if p.endswith(".so") and p != "libjanus_http.so"]
        events = [p for p in os.listdir(f"{JANUS_LIB}/events") if p.endswith(".so")]
        loggers = [p for p in os.listdir(f"{JANUS_LIB}/loggers") if p.endswith(".so")]
        cfg = f"""general: {{
  configs_folder = "{d}"
  plugins_folder = "{JANUS_LIB}/plugins"
  transports_folder = "{JANUS_LIB}/transports"
  events_folder = "{JANUS_LIB}/events"
  loggers_folder = "{JANUS_LIB}/loggers"
  log_to_stdout = false
  log_to_file = "{d}/janus.log"
  debug_level = 3
  session_timeout = 0
  event_loops = {event_loops}
  server_name = "hype-voicebench"
}}
certificates: {{
}}
media: {{
  rtp_port_range = "{rtp_ports[0]}-{rtp_ports[1]}"
}}
nat: {{
  nice_debug = false
  ice_lite = true
  ignore_mdns = true
  ice_ignore_list = "vmnet"
}}
plugins: {{
  disable = "{','.join(plugins)}"
}}
transports: {{
  disable = "{','.join(transports)}"
}}
loggers: {{
  disable = "{','.join(loggers)}"
}}
events: {{
  broadcast = false
  disable = "{','.join(events)}"
}}
"""
        with open(f"{d}/janus.jcfg", "w") as f:
            f.write(cfg)
        with open(f"{d}/janus.transport.http.jcfg", "w") as f:
            f.write(f"""general: {{
  json = "compact"
  base_path = "/janus"
  http = true
  port = {http_port}
  ip = "127.0.0.1"
  https = false
}}
admin: {{
  admin_http = false
  admin_https = false
}}
""")
        with open(f"{d}/janus.plugin.videoroom.jcfg", "w") as f:
            f.write("general: {\n}\n")  # no static rooms: the bots create theirs
        self.log = open(os.path.join(d, "janus.stdout"), "w")
        self.proc = subprocess.Popen(
            _taskset(cpu) + ["janus", "-C", f"{d}/janus.jcfg", "-F", d],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{http_port}/janus"
        _wait_http(self.url + "/info", 30, self.proc)

    def bot_args(self):
        return ["--target", "janus", "--janus-url", self.url]

    def version(self):
        with urllib.request.urlopen(self.url + "/info", timeout=5) as r:
            return json.load(r).get("version_string", "?")
