"""`manage.py amc_simulator` serves until stopped, with instances from a file."""

import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_command_serves_until_terminated(amc_simulator, tmp_path):
    instances = tmp_path / "instances.json"
    instances.write_text(
        json.dumps(
            [
                {
                    "instance_id": "amccommand01",
                    "advertiser_id": "ENTITYCMD",
                    "seed": 1,
                    "concurrency_limit": 4,
                }
            ]
        )
    )
    # The session's data directory already holds seed 1's test dataset: start-up is quick.
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "amc_simulator",
            "--port",
            "0",
            "--size",
            "test",
            "--data-dir",
            str(amc_simulator.simulator.data_dir),
            "--no-default-instances",
            "--instances-file",
            str(instances),
            "--latency-pending",
            "0",
            "--latency-running",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    listening = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if "listening on" in line:
                listening.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert listening.wait(120), "".join(lines)
        url = re.search(r"listening on (http://\S+)", "".join(lines)).group(1)
        assert requests.get(f"{url}/_simulator/health", timeout=10).json() == {"status": "ok"}
        registered = requests.get(f"{url}/_simulator/instances", timeout=10).json()["instances"]
        assert [i["instance_id"] for i in registered] == ["amccommand01"]
        assert registered[0]["concurrency_limit"] == 4
        token = requests.post(
            f"{url}/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "Atzr|cmd",
                "client_id": amc_simulator.client_id,
                "client_secret": amc_simulator.client_secret,
            },
            timeout=10,
        )
        assert token.status_code == 200
        assert any("amccommand01" in line and "rows" in line for line in lines)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        reader.join(timeout=5)
    assert "stopped" in "".join(lines)
