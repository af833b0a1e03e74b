"""Command line of the simulator, shared by `manage.py amc_simulator` and
`python -m recomamp.amc_simulator`."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from .config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INSTANCES,
    MIN_AGGREGATION_THRESHOLD,
    InstanceSettings,
    RuntimeSettings,
    SimulatorConfig,
)
from .dataset import SIZES
from .server import SimulatorServer


def add_arguments(parser: argparse.ArgumentParser, *, default_data_dir: Path | None) -> None:
    parser.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0 = any)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir,
        required=default_data_dir is None,
        help="where datasets and results are kept",
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="demo", help="dataset size")
    parser.add_argument(
        "--latency-pending",
        type=float,
        default=0.2,
        metavar="S",
        help="seconds an execution stays PENDING (default 0.2)",
    )
    parser.add_argument(
        "--latency-running",
        type=float,
        default=0.5,
        metavar="S",
        help="seconds an execution stays RUNNING at least (default 0.5)",
    )
    parser.add_argument(
        "--instances-file",
        type=Path,
        help="JSON list of instances to register besides (or replacing, by id) "
        'the demo ones: [{"instance_id": ..., "advertiser_id": ...}, ...]',
    )
    parser.add_argument(
        "--no-default-instances", action="store_true", help="do not register amcrecodemo01..03"
    )
    parser.add_argument(
        "--threshold",
        type=int,
        default=100,
        help="aggregation threshold in distinct users (default 100, AMC's minimum)",
    )
    parser.add_argument(
        "--test-mode",
        action="store_true",
        help="allow an aggregation threshold below AMC's minimum (for small test datasets)",
    )
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument(
        "--allow-remote-control",
        action="store_true",
        help="answer /_simulator/ control calls from non-loopback clients",
    )
    parser.add_argument(
        "--lazy",
        action="store_true",
        help="generate datasets at their first query instead of at start-up",
    )


def load_instances(path: Path | None, *, defaults: bool) -> tuple[InstanceSettings, ...]:
    instances = {i.instance_id: i for i in (DEFAULT_INSTANCES if defaults else ())}
    if path is not None:
        items = json.loads(Path(path).read_text())
        if isinstance(items, dict):
            items = items.get("instances", [])
        for item in items:
            data = dict(item)
            instance_id = data.pop("instance_id")
            instances[instance_id] = InstanceSettings.from_dict(instance_id, data)
    return tuple(instances.values())


def config_from(options: dict) -> SimulatorConfig:
    return SimulatorConfig(
        client_id=options["client_id"],
        client_secret=options["client_secret"],
        dataset_size=options["size"],
        pending_seconds=options["latency_pending"],
        running_seconds=options["latency_running"],
        runtime=replace(RuntimeSettings(), aggregation_threshold=options["threshold"]),
        instances=load_instances(
            options.get("instances_file"), defaults=not options.get("no_default_instances")
        ),
        pregenerate=False,
        allow_remote_control=options["allow_remote_control"],
        test_mode=bool(options.get("test_mode")),
    )


def run(options: dict, out=sys.stdout) -> None:
    """Build the server from parsed options, prepare the datasets and serve until stopped."""
    config = config_from(options)
    if config.runtime.aggregation_threshold < MIN_AGGREGATION_THRESHOLD and not config.test_mode:
        raise SystemExit(
            f"--threshold {config.runtime.aggregation_threshold} is below AMC's minimum of "
            f"{MIN_AGGREGATION_THRESHOLD}; add --test-mode to allow it"
        )
    server = SimulatorServer(
        host=options["host"], port=options["port"], data_dir=options["data_dir"], config=config
    )
    out.write(
        f"AMC simulator: data in {Path(options['data_dir']).resolve()} "
        f"({config.dataset_size} size)\n"
    )
    if not options.get("lazy"):
        for instance in config.instances:
            started = time.perf_counter()
            info = server.dataset_info(instance.instance_id)
            seconds = time.perf_counter() - started
            rows = sum(v for k, v in info["row_counts"].items() if "conversion_time" not in k)
            out.write(
                f"  {instance.instance_id}: advertiser {instance.advertiser_id}, seed "
                f"{instance.seed}, {rows:,} rows, ready in {seconds:.1f}s "
                f"(generation took {info['generated_seconds']}s)\n"
            )
    out.write(f"AMC simulator listening on {server.url}\n")
    out.flush()

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.write("AMC simulator stopped\n")
    finally:
        server.simulator.cancel_all()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m recomamp.amc_simulator", description="Serve the AMC simulator."
    )
    add_arguments(parser, default_data_dir=Path("var") / "amc_simulator")
    run(vars(parser.parse_args(argv)))
