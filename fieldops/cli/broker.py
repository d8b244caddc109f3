"""fieldops broker: the embedded MQTT broker (zero-install default for one machine)."""

from __future__ import annotations

import sys
import threading


def register(sub) -> None:
    p = sub.add_parser(
        "broker",
        help="run the embedded MQTT broker (for one machine; production uses Mosquitto)",
        description="Run fieldops' embedded MQTT broker (amqtt) until Ctrl-C. It has no authentication: "
        "keep it on localhost. For production use Mosquitto with deploy/mosquitto/ and 'fieldops robots acl'.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=1883, help="TCP port (default 1883; 0 picks a free one)"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from fieldops.bootstrap import embedded_broker
    from fieldops.cli._ports import ensure_free

    broker = embedded_broker(args.host, ensure_free(args.host, args.port, "--port"))
    try:
        broker.start()
    except RuntimeError as exc:
        print(f"fieldops broker: {exc}", file=sys.stderr)
        return 1
    print(f"fieldops broker: listening on {broker.url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0
