"""``portamodel convert IN OUT``: read a model in one format and write it in another."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConversionLossError
from ._common import FORMAT_CHOICES, add_read_option, load_model, options, parse_option
from ._errors import UsageError

__all__ = ["register", "run"]

HELP = "convert a model between formats (json, pmml, onnx)"
EPILOG = """\
The formats come from the file names (.json, .pmml/.xml, .onnx; add .gz to compress JSON or
PMML) unless --from / --to say otherwise. Conversion goes through portamodel's in-memory model,
so anything one format can say and the other cannot is reported: --on-loss raise (the default)
stops with exit code 9 and writes nothing, warn writes the file and prints one warning per loss,
ignore writes it silently.

examples:
  portamodel convert model.pmml model.json
  portamodel convert model.json model.onnx --on-loss warn
  portamodel convert model.json model.onnx -O tree_opset=5
  portamodel convert model.bin model.pmml.gz --from onnx"""


def register(sub: Any, **kwargs: Any) -> None:
    p = sub.add_parser(
        "convert",
        help=HELP,
        description="Convert a model file from one format to another. The output is written atomically:\n"
        "on any error an existing OUT is left untouched.",
        epilog=EPILOG,
        **kwargs,
    )
    p.add_argument("input", metavar="IN", help="model to read; '-' reads stdin (then pass --from if the content is ambiguous)")
    p.add_argument("output", metavar="OUT", help="file to write")
    p.add_argument("--from", dest="from_format", choices=FORMAT_CHOICES, help="format of IN (default: from its name, else its content)")
    p.add_argument("--to", dest="to_format", choices=FORMAT_CHOICES, help="format of OUT (default: from its name)")
    p.add_argument(
        "--on-loss",
        choices=("raise", "warn", "ignore"),
        default="raise",
        help="what to do when OUT's format cannot hold everything in IN (default: raise)",
    )
    p.add_argument(
        "-O",
        "--write-option",
        dest="write_options",
        metavar="KEY=VALUE",
        action="append",
        type=parse_option,
        help="pass an option to the writer, e.g. -O tree_opset=5 for ONNX (repeatable; VALUE is read as JSON if it can be)",
    )
    add_read_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import portamodel

    from ..formats import format_for

    to_format = format_for(format=args.to_format, path=args.output)  # fail on an unknown target before reading
    write_options = options(args.write_options)
    if "on_loss" in write_options:
        raise UsageError("give --on-loss instead of -O on_loss=...")
    model = load_model(args.input, args.from_format, options(args.read_options))
    try:
        portamodel.save(model, args.output, format=to_format, on_loss=args.on_loss, **write_options)
    except ConversionLossError as exc:
        raise ConversionLossError(
            f"{exc.message}; nothing was written (pass --on-loss warn to write anyway)", location=exc.location
        ) from exc
    return 0
