"""Command line of the PyTorch engine:

    python -m layer_rotation train CONFIG [--run-dir DIR | --runs-dir DIR] [--run-id ID]
        [--resolved-config FILE] [--mnist-dir DIR] [--epochs N] [--max-steps N]
        [--records-per-epoch N] [--device auto|cpu|cuda] [--threads N] [--parent-pid PID] [--stop-file FILE]
    python -m layer_rotation check CONFIG
    python -m layer_rotation probe
    python -m layer_rotation --version

`train` writes events.jsonl and summary.json into the run folder; exit 0 when the run completed
or was stopped, 1 when it failed, 2 for a config with a sweep block (`layer-rotation sweep` runs
its points). Under torchrun (WORLD_SIZE > 1) it trains data-parallel.
"""
import argparse
import json
import os
import shutil
import sys

from . import __version__
from .config import schema_enum


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m layer_rotation", description="Layer Rotation Monitor: the PyTorch engine."
    )
    p.add_argument("--version", action="version", version="layer-rotation %s" % __version__)
    sub = p.add_subparsers(dest="command")
    t = sub.add_parser("train", help="train a *.layerrot.json config, writing a run folder")
    t.add_argument("config")
    t.add_argument("--run-dir", help="the run folder to write (created if missing)")
    t.add_argument(
        "--runs-dir", default="runs", help="without --run-dir: make <name>-YYYYMMDD-HHMMSS here (default ./runs)"
    )
    t.add_argument("--run-id", help="the run id (default: the run folder's name)")
    t.add_argument(
        "--resolved-config", help="a JSON file with the fully validated config (used instead of parsing CONFIG)"
    )
    t.add_argument("--mnist-dir", help="folder with the MNIST IDX files (when dataset.path is not set)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--max-steps", type=int)
    t.add_argument("--records-per-epoch", type=int)
    t.add_argument("--device", choices=schema_enum("pytorch", "device"))
    t.add_argument("--threads", type=int, help="torch.set_num_threads")
    t.add_argument("--parent-pid", type=int, help="stop cleanly when this process goes away")
    t.add_argument(
        "--stop-file",
        help="stop cleanly after the current step once this file exists (default: STOP in the run folder)",
    )
    t.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    c = sub.add_parser("check", help="check a config: prints its errors, or ok")
    c.add_argument("config")
    sub.add_parser("probe", help="print the interpreter's Python and torch versions and CUDA devices, as JSON")
    return p


def probe():
    info = {"python": "%d.%d.%d" % sys.version_info[:3], "package": __version__}
    try:
        import torch

        info.update(
            {
                "torch": torch.__version__.split("+")[0],
                "cuda": bool(torch.cuda.is_available()),
                "devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
            }
        )
    except Exception as e:  # noqa: BLE001
        info.update({"torch": None, "cuda": False, "devices": 0, "error": str(e)})
    print(json.dumps(info))
    return 0 if info.get("torch") else 1


def check(path):
    from .config import ConfigError, load_config

    try:
        _, warnings = load_config(path)
    except ConfigError as e:
        for msg in e.errors:
            print("%s: %s" % (path, msg))
        return 1
    for w in warnings:
        print("%s: %s (warning)" % (path, w))
    print("ok")
    return 0


def train(args):
    from .config import ConfigError, JsonschemaMissing, load_config, load_resolved, schema_default
    from .engine import Dist, StopFlags, train as run_training
    from .events import CONFIG_COPY, EVENTS_FILE, EventWriter, create_run_dir, make_summary, run_finished
    from .events import write_summary

    stop = StopFlags(args.parent_pid, args.stop_file)
    stop.install()
    config_file = os.path.abspath(args.config)
    config, warnings, config_error = None, [], None
    try:
        if args.resolved_config:
            config = load_resolved(args.resolved_config, config_file)
        else:
            config, warnings = load_config(config_file)
    except JsonschemaMissing as e:
        config_error = e.errors[0]
    except ConfigError as e:
        config_error = "invalid config:\n" + "\n".join("%s: %s" % (config_file, m) for m in e.errors)
    except (OSError, ValueError) as e:
        config_error = "cannot read the config: %s" % e
    if config and config.get("sweep"):
        # As `layer-rotation train`: a sweep's points are run by `layer-rotation sweep`, one run each.
        sys.stderr.write(
            "layer-rotation: %s has a sweep block: train trains one config; run the grid's points with "
            "`layer-rotation sweep %s`\n" % (args.config, args.config)
        )
        return 2

    device = args.device or (config["pytorch"]["device"] if config else schema_default("pytorch", "device"))
    try:
        dist = Dist(device)
    except Exception as e:  # noqa: BLE001 - e.g. cuda asked for, none there
        dist, config_error = None, config_error or str(e)

    main = dist is None or dist.is_main
    run_dir = None
    if main:
        if args.run_dir:
            run_dir = os.path.abspath(args.run_dir)
            os.makedirs(run_dir, exist_ok=True)
            copy = os.path.join(run_dir, CONFIG_COPY)
            if os.path.isfile(config_file) and not os.path.exists(copy):
                shutil.copyfile(config_file, copy)
        else:
            name = (config or {}).get("name") or os.path.basename(config_file).split(".")[0] or "run"
            _, run_dir = create_run_dir(args.runs_dir, name, config_file if os.path.isfile(config_file) else None)
            run_dir = os.path.abspath(run_dir)
    if dist is not None:
        run_dir = dist.broadcast_object(run_dir)
    run_id = args.run_id or os.path.basename(run_dir)
    if stop.stop_file is None:
        stop.stop_file = os.path.join(run_dir, "STOP")  # `touch <run folder>/STOP` stops a run from anywhere
    writer = EventWriter(os.path.join(run_dir, EVENTS_FILE)) if main else None

    def emit(event):
        if writer is not None:
            return writer.write(event)

    def progress(text):
        if main and not args.quiet:
            sys.stderr.write("layer-rotation: %s\n" % text)
            sys.stderr.flush()

    if config_error:
        finished = run_finished("failed", config_error, 0, 0, 0)
        emit(finished)
    else:
        progress("run folder %s" % run_dir)
        finished = run_training(
            config,
            emit,
            run_id,
            config_file=config_file,
            epochs=args.epochs,
            max_steps=args.max_steps,
            records_per_epoch=args.records_per_epoch,
            device=device,
            threads=args.threads,
            mnist_dir=args.mnist_dir,
            warnings=warnings,
            stop=stop,
            dist=dist,
            progress=progress,
        )
    if writer is not None:
        summary = make_summary(run_id, writer.started, writer.finished or finished)
        write_summary(run_dir, summary)
        writer.close()
    if dist is not None:
        dist.close()
    if finished["status"] == "failed":
        if main:
            sys.stderr.write("layer-rotation: error: %s\n" % finished["reason"])
        return 1
    if main:
        acc = finished.get("testAccuracy")
        progress(
            "%s: %s%s"
            % (
                finished["status"],
                finished["reason"],
                "; test accuracy %.2f%%" % (100 * acc) if isinstance(acc, float) else "",
            )
        )
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "probe":
        return probe()
    if args.command == "check":
        return check(args.config)
    if args.command == "train":
        return train(args)
    _parser().print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
