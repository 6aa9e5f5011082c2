"""A real RTSP camera on loopback for the CCTV tests: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0) re-streams an H.264 MP4 file, looping, without re-encoding.

Run with the SYSTEM Python, which has the GObject bindings (python3-gi), not the venv:
    /usr/bin/python3 tests/rtsp_server.py PORT FILE
It serves rtsp://127.0.0.1:PORT/cam and prints "ready" once listening. Killing the process
is how a test makes the camera die; starting it again brings the camera back.
"""

import sys

import gi  # type: ignore[import-not-found]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-not-found]  # noqa: E402


def main() -> None:
    port, path = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{path}" ! qtdemux ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )'
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{port}")
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
